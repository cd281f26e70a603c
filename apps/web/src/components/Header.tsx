import { useEffect, useState } from 'react';
import { browserZone, setDisplayZone, useDisplayZone } from '../lib/format';
import { href, navigate, withZone, type Route } from '../lib/route';
import { signOut, type SessionState } from '../lib/session';
import { useConnection } from '../trpc';

const LABEL = { open: 'Connected', connecting: 'Connecting…', closed: 'Disconnected — retrying' } as const;

function useTheme(): [string, () => void] {
  const [theme, setTheme] = useState(
    () => localStorage.getItem('theme') ?? (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'),
  );
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem('theme', theme);
  }, [theme]);
  return [theme, () => setTheme((t) => (t === 'dark' ? 'light' : 'dark'))];
}

export function Header({
  route,
  session,
  activeAlarms,
}: {
  route: Route;
  session: SessionState;
  activeAlarms: Record<'critical' | 'warning' | 'info', number> | undefined;
}) {
  const active = activeAlarms ? activeAlarms.critical + activeAlarms.warning + activeAlarms.info : 0;
  const connection = useConnection();
  const [theme, toggle] = useTheme();
  return (
    <header className="header">
      <a className="brand" href={href({ page: 'home' })}>
        BESS telemetry
      </a>
      <nav aria-label="Views">
        <a
          className="nav-link"
          href={href({ page: 'fleet' })}
          aria-current={route.page === 'fleet' ? 'page' : undefined}
        >
          Fleet
        </a>
        <a
          className="nav-link"
          href={href({ page: 'compare' })}
          aria-current={route.page === 'compare' ? 'page' : undefined}
          data-testid="nav-compare"
        >
          Compare
        </a>
        <a
          className="nav-link"
          href={href({ page: 'alarms' })}
          aria-current={route.page === 'alarms' ? 'page' : undefined}
          data-testid="nav-alarms"
        >
          Alarms{active > 0 ? ` (${active})` : ''}
        </a>
      </nav>
      {route.page === 'device' && <span className="crumb">/ {route.deviceId}</span>}
      <span className="spacer" />
      <span className={`badge conn-${connection}`} data-testid="connection" title="Live stream connection (WebSocket)">
        {LABEL[connection]}
      </span>
      <ZoneChoice />
      <button type="button" className="ghost" onClick={toggle} aria-label="Toggle theme">
        {theme === 'dark' ? '☀' : '☾'}
        <span className="theme-label">{theme === 'dark' ? ' Light' : ' Dark'}</span>
      </button>
      {session.keysRequired && (
        <button
          type="button"
          className="ghost"
          onClick={() => void signOut(session.csrfToken).then(() => location.reload())}
        >
          Sign out
        </button>
      )}
    </header>
  );
}

/** UTC or the browser's zone (or a link's), for every time shown: axes, inputs, tables; the URL follows. */
function ZoneChoice() {
  const zone = useDisplayZone();
  // In UTC the browser's zone is not named: the first Intl call costs ~35 ms before the first chart.
  const shown = zone === 'UTC' ? 'UTC' : zone === 'local' ? browserZone() : zone;
  const next = zone === 'UTC' ? "the browser's zone" : 'UTC';
  return (
    <button
      type="button"
      className="ghost"
      data-testid="time-zone"
      title={`Times in ${shown}; click for ${next}`}
      aria-label={`Times in ${shown}: switch to ${next}`}
      onClick={() => {
        setDisplayZone(zone === 'UTC' ? 'local' : 'UTC');
        navigate(withZone(window.location.hash), 'replace');
      }}
    >
      {zone === 'UTC' ? 'UTC' : zone === 'local' ? 'Local time' : zone}
    </button>
  );
}
