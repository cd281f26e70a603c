import { useEffect, useState } from 'react';

/** Hash routes: `#/` fleet, `#/device/<id>/<tab>`. Small enough not to need a router library. */
export type Route = { page: 'fleet' } | { page: 'device'; deviceId: string; tab: DeviceTab };
export type DeviceTab = 'live' | 'history' | 'cells' | 'alerts' | 'quality';
const TABS: DeviceTab[] = ['live', 'history', 'cells', 'alerts', 'quality'];

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'device' && parts[1]) {
    const tab = TABS.includes(parts[2] as DeviceTab) ? (parts[2] as DeviceTab) : 'live';
    return { page: 'device', deviceId: parts[1], tab };
  }
  return { page: 'fleet' };
}

export function href(route: Route): string {
  return route.page === 'fleet' ? '#/' : `#/device/${encodeURIComponent(route.deviceId)}/${route.tab}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
