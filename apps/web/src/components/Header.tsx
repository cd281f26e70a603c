import { useEffect, useState } from 'react';
import { browserZone, setDisplayZone, useDisplayChoice } from '../lib/format';
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

/**
 * UTC, the site's zone of the cabinet on screen or the browser's (or a link's), for every time
 * shown: axes, inputs, tables; the URL follows.
 */
function ZoneChoice() {
  const { zone, site } = useDisplayChoice();
  // In UTC the browser's zone is not named until asked: the first Intl call costs ~35 ms before the first chart.
  const [browser, setBrowser] = useState<string | null>(zone === 'local' ? browserZone() : null);
  const named = !['UTC', 'site', 'local'].includes(zone) ? zone : null;
  return (
    <select
      data-testid="time-zone"
      aria-label="Times in"
      value={zone}
      title="Where times are shown"
      onFocus={() => setBrowser(browserZone())}
      onPointerDown={() => setBrowser(browserZone())}
      onChange={(e) => {
        setDisplayZone(e.target.value);
        navigate(withZone(window.location.hash), 'replace');
      }}
    >
      <option value="UTC">UTC</option>
      <option value="site">{site ? `Site (${site})` : 'Site (none set: UTC)'}</option>
      <option value="local">{browser ? `Browser (${browser})` : 'Browser'}</option>
      {named && <option value={named}>{named}</option>}
    </select>
  );
}
