import { useEffect, useState } from 'react';
import { href, type Route } from '../lib/route';
import { useConnection } from '../trpc';

const LABEL = { open: 'Connected', connecting: 'Connecting…', closed: 'Disconnected — retrying' } as const;

function useTheme(): [string, () => void] {
  const [theme, setTheme] = useState(() => localStorage.getItem('theme') ?? (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'));
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem('theme', theme);
  }, [theme]);
  return [theme, () => setTheme((t) => (t === 'dark' ? 'light' : 'dark'))];
}

export function Header({ route }: { route: Route }) {
  const connection = useConnection();
  const [theme, toggle] = useTheme();
  return (
    <header className="header">
      <a className="brand" href={href({ page: 'fleet' })}>
        BESS telemetry
      </a>
      {route.page === 'device' && <span className="crumb">/ {route.deviceId}</span>}
      <span className="spacer" />
      <span className={`badge conn-${connection}`} data-testid="connection" title="Live stream connection (WebSocket)">
        {LABEL[connection]}
      </span>
      <button type="button" className="ghost" onClick={toggle} aria-label="Toggle theme">
        {theme === 'dark' ? '☀ Light' : '☾ Dark'}
      </button>
    </header>
  );
}
