import { useEffect, useState, type Dispatch, type SetStateAction } from 'react';
import { browserZone, isZoneName, linkZone, setDisplayZone } from './format';

/**
 * Hash routes: `#/fleet`, `#/alarms`, `#/compare/<signal>/<from>-<to>`, `#/device/<id>/<tab>`, and no hash for the landing page (the
 * alarm console while anything is active, else the fleet). Small enough not to need a router library.
 * Any of them may end in `?tz=<IANA zone>`: the zone its times were read in, so a link shows them alike.
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
  const parts = pathOf(hash).replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
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

/** The hash without its `?…` part. */
const pathOf = (hash: string): string => hash.split('?')[0]!;

/** The zone a hash names (`?tz=`), when it is one this browser knows. */
export function zoneOf(hash: string): string | undefined {
  const query = hash.split('?')[1];
  const named = query ? new URLSearchParams(query).get('tz') : null;
  return named && isZoneName(named) ? named : undefined;
}

/** `hash` with its `?name=` parameter set to `value`, or removed for null; the other parameters kept. */
function withParam(hash: string, name: string, value: string | null): string {
  const params = new URLSearchParams(hash.split('?')[1] ?? '');
  if (value === null) params.delete(name);
  else params.set(name, value);
  const query = params.toString();
  return `${pathOf(hash) || '#/'}${query ? `?${query}` : ''}`;
}

/** `hash` carrying the display zone (replacing any it named): what the URL should read after a zone change. */
export function withZone(hash: string): string {
  return withParam(hash, 'tz', linkZone());
}

/**
 * One of a view's own settings kept in its URL (`?cell=2-17`), so a link shows the same: read
 * from the URL when the view opens, written back (replacing the entry) whenever it changes.
 */
export function useUrlParam<T>(
  name: string,
  parse: (value: string | null) => T,
  format: (value: T) => string | null,
): [T, Dispatch<SetStateAction<T>>] {
  const [value, setValue] = useState(() =>
    parse(new URLSearchParams(window.location.hash.split('?')[1] ?? '').get(name)),
  );
  const written = format(value);
  useEffect(() => {
    navigate(withParam(window.location.hash, name, written), 'replace');
  }, [name, written]);
  return [value, setValue];
}

/** The link to a view, in the display zone. */
export function href(route: Route): string {
  return withZone(routePath(route));
}

function routePath(route: Route): string {
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

/** A link's zone, when it names one, becomes the display zone for this page (not remembered). */
export function followZone(hash: string): void {
  const named = zoneOf(hash);
  // The zone already shown (a site's, say) stays chosen as it was.
  if (named && named !== linkZone()) setDisplayZone(named === browserZone() ? 'local' : named, false);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => {
      followZone(window.location.hash);
      // A view's own setting changing (`?cell=`) is the same route: nothing above it draws again.
      const next = parseRoute(window.location.hash);
      setRoute((prev) => (JSON.stringify(prev) === JSON.stringify(next) ? prev : next));
    };
    // Back and forward between entries pushed by navigate fire popstate, not always hashchange.
    for (const event of ['hashchange', 'popstate', NAVIGATED]) window.addEventListener(event, onChange);
    return () => {
      for (const event of ['hashchange', 'popstate', NAVIGATED]) window.removeEventListener(event, onChange);
    };
  }, []);
  return route;
}
