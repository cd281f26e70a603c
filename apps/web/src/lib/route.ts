import { useEffect, useState } from 'react';

/**
 * Hash routes: `#/fleet`, `#/alarms`, `#/compare/<signal>/<from>-<to>`, `#/device/<id>/<tab>`, and no hash for the landing page (the
 * alarm console while anything is active, else the fleet). Small enough not to need a router library.
 */
export type Route =
  | { page: 'home' }
  | { page: 'fleet' }
  | { page: 'alarms' }
  | { page: 'compare'; signal?: string; range?: TimeRange }
  | { page: 'device'; deviceId: string; tab: DeviceTab; range?: TimeRange; signals?: string[] };
/** A time range in a link (epoch ms): `#/device/<id>/history/<from>-<to>[/<signal>,<signal>]`. */
export interface TimeRange {
  from: number;
  to: number;
}
export type DeviceTab = 'live' | 'history' | 'cells' | 'alerts' | 'quality';
const TABS: DeviceTab[] = ['live', 'history', 'cells', 'alerts', 'quality'];
/** Signal names as the API accepts them; a link names at most as many as one query charts. */
const SIGNAL = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
export const MAX_SIGNALS = 12;

function parseRange(part: string | undefined): TimeRange | undefined {
  const m = /^(\d{1,15})-(\d{1,15})$/.exec(part ?? '');
  return m && Number(m[1]) < Number(m[2]) ? { from: Number(m[1]), to: Number(m[2]) } : undefined;
}

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'compare') {
    const signal = SIGNAL.test(parts[1] ?? '') ? parts[1] : undefined;
    const range = signal ? parseRange(parts[2]) : undefined;
    return { page: 'compare', ...(signal ? { signal } : {}), ...(range ? { range } : {}) };
  }
  if (parts[0] === 'device' && parts[1]) {
    const tab = TABS.includes(parts[2] as DeviceTab) ? (parts[2] as DeviceTab) : 'live';
    const range = parseRange(parts[3]);
    const signals = (parts[4] ?? '')
      .split(',')
      .filter((s) => SIGNAL.test(s))
      .slice(0, MAX_SIGNALS);
    return {
      page: 'device',
      deviceId: parts[1],
      tab,
      ...(range ? { range } : {}),
      ...(range && signals.length ? { signals } : {}),
    };
  }
  if (parts[0] === 'fleet') return { page: 'fleet' };
  if (parts[0] === 'alarms') return { page: 'alarms' };
  return { page: 'home' };
}

export function href(route: Route): string {
  if (route.page === 'device') {
    const range = route.range ? `/${route.range.from}-${route.range.to}` : '';
    const signals = route.range && route.signals?.length ? `/${route.signals.join(',')}` : '';
    return `#/device/${encodeURIComponent(route.deviceId)}/${route.tab}${range}${signals}`;
  }
  if (route.page === 'compare') {
    const range = route.signal && route.range ? `/${route.range.from}-${route.range.to}` : '';
    return `#/compare${route.signal ? `/${encodeURIComponent(route.signal)}` : ''}${range}`;
  }
  return route.page === 'home' ? '#/' : `#/${route.page}`;
}

/** Fired after `navigate` changed the URL (history.pushState fires no event of its own). */
const NAVIGATED = 'bess:navigated';

/**
 * The URL becomes `hash`: a new history entry (`push`, so back returns to the view before) or
 * the current one rewritten (`replace`). Every `useRoute` learns of it.
 */
export function navigate(hash: string, mode: 'push' | 'replace'): void {
  if (window.location.hash === hash) return;
  if (mode === 'push') window.history.pushState(null, '', hash);
  else window.history.replaceState(null, '', hash);
  window.dispatchEvent(new Event(NAVIGATED));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    // Back and forward between entries pushed by navigate fire popstate, not always hashchange.
    for (const event of ['hashchange', 'popstate', NAVIGATED]) window.addEventListener(event, onChange);
    return () => {
      for (const event of ['hashchange', 'popstate', NAVIGATED]) window.removeEventListener(event, onChange);
    };
  }, []);
  return route;
}
