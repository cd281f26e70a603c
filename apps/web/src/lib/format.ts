import { useSyncExternalStore } from 'react';

/**
 * Where times are shown: UTC (the default, as the cabinets log them, so a chart and a CSV row
 * read the same), the site's zone of the cabinet on screen (`site`, as configured on the server),
 * the browser's zone (`local`), or a named IANA zone (from a shared link, so a colleague elsewhere
 * sees the same clock). UTC, site or local is chosen once (header) and kept in localStorage; a
 * link's zone lasts the page. 24-hour.
 */
export type DisplayZone = string;
const ZONE_KEY = 'timeZone';
const CHOICES = new Set(['local', 'site']);
let zone: DisplayZone = readZone();
/** The configured zone of the cabinet on screen; null on pages of no one cabinet, or none configured. */
let siteZone: string | null = null;
const zoneListeners = new Set<() => void>();

function readZone(): DisplayZone {
  try {
    const kept = globalThis.localStorage?.getItem(ZONE_KEY);
    return kept && CHOICES.has(kept) ? kept : 'UTC';
  } catch {
    return 'UTC';
  }
}

/** The zone times are drawn in: the site's when chosen (UTC where no site zone is known). */
const effective = (): string => (zone === 'site' ? (siteZone ?? 'UTC') : zone);

function changed(): void {
  wallFormat = null;
  offsetFormat = null;
  for (const listener of zoneListeners) listener();
}

/** Whether `name` is a time zone this browser knows (IANA, e.g. `Europe/Berlin`). */
export function isZoneName(name: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+/-]{0,63}$/.test(name)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** Shows times in `next`; `remember` keeps the choice for the next visit (the header's UTC or local). */
export function setDisplayZone(next: DisplayZone, remember = true): void {
  if (next === zone) return;
  zone = next;
  if (remember)
    try {
      globalThis.localStorage?.setItem(ZONE_KEY, next);
    } catch {
      // private mode: the choice lasts this page
    }
  changed();
}

/** The site zone of the cabinet now on screen (the device view sets it, and clears it on leaving). */
export function setSiteZone(next: string | null): void {
  if (next === siteZone) return;
  siteZone = next;
  changed();
}

const subscribe = (listener: () => void) => {
  zoneListeners.add(listener);
  return () => zoneListeners.delete(listener);
};

/** The display choice (`UTC`, `site`, `local` or a named zone) and the site's zone, for the header. */
export function useDisplayChoice(): { zone: DisplayZone; site: string | null } {
  const key = useSyncExternalStore(subscribe, () => `${zone}|${siteZone ?? ''}`);
  const [chosen, site] = key.split('|') as [string, string];
  return { zone: chosen, site: site || null };
}

/** The zone times are drawn in (`UTC`, `local` or an IANA name), re-rendering on change. */
export function useDisplayZone(): DisplayZone {
  return useSyncExternalStore(subscribe, effective);
}

/** The browser's zone name (IANA), for the header's choice. */
export const browserZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** The zone a link carries so it reads the same elsewhere: null for UTC, else the IANA name. */
export function linkZone(): string | null {
  const shown = effective();
  if (shown === 'UTC') return null;
  return shown === 'local' ? browserZone() : shown;
}

/** The formatters' `timeZone`: the browser's own for local. */
function formatZone(): { timeZone?: string } {
  const shown = effective();
  return shown === 'local' ? {} : { timeZone: shown };
}

let wallFormat: Intl.DateTimeFormat | null = null;
let offsetFormat: Intl.DateTimeFormat | null = null;

/** `t` as a wall-clock `YYYY-MM-DDTHH:MM:SS` in the display zone. */
function wall(t: number): string {
  if (effective() === 'UTC') return new Date(t).toISOString().slice(0, 19);
  wallFormat ??= new Intl.DateTimeFormat('en-CA', {
    ...formatZone(),
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  });
  const p = Object.fromEntries(wallFormat.formatToParts(new Date(t)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}`;
}

/** How far the display zone's clock is ahead of UTC at `t` (ms). */
function offsetAt(t: number): number {
  return Date.parse(`${wall(t)}Z`) - Math.floor(t / 1000) * 1000;
}

/** The zone's name as shown after a time: `UTC`, or the zone's offset (`GMT+5:30`). */
export function zoneLabel(t: number): string {
  if (effective() === 'UTC') return 'UTC';
  offsetFormat ??= new Intl.DateTimeFormat('en-US', { ...formatZone(), timeZoneName: 'shortOffset' });
  return offsetFormat.formatToParts(new Date(t)).find((x) => x.type === 'timeZoneName')?.value ?? '';
}

export function formatClock(iso: string | number): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '—' : wall(d.getTime()).slice(11, 19);
}

export function formatDateTime(iso: string | number | null | undefined): string {
  if (iso === null || iso === undefined) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? '—'
    : `${wall(d.getTime()).slice(0, 16).replace('T', ' ')} ${zoneLabel(d.getTime())}`;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Tick steps a time axis may use, finest first. */
const TICK_STEPS = [1, 2, 5, 10, 15, 30]
  .map((m) => m * MINUTE)
  .concat(
    [1, 2, 3, 6, 12].map((h) => h * HOUR),
    [1, 2, 7, 14, 30, 91].map((d) => d * DAY),
  );

/**
 * Ticks for a time axis over [from, to]: at most `most`, on whole steps of a ladder (1 min to a
 * quarter) of the display zone's clock, each labelled once. Labels carry the date whenever the
 * range spans days.
 */
export function timeTicks(from: number, to: number, most = 5): { ticks: number[]; label: (t: number) => string } {
  if (!Number.isFinite(from) || !Number.isFinite(to)) return { ticks: [], label: () => '' };
  const span = Math.max(to - from, MINUTE);
  const step = TICK_STEPS.find((s) => span / s <= most) ?? TICK_STEPS.at(-1)!;
  const ticks: number[] = [];
  // Whole steps of the wall clock (a zone's offset at the range's start: exact but across a DST change).
  const offset = offsetAt(from);
  for (let t = Math.ceil((from + offset) / step) * step - offset; t <= to; t += step) ticks.push(t);
  const iso = wall;
  const spansDays = iso(from).slice(0, 10) !== iso(to).slice(0, 10);
  const label =
    step >= DAY
      ? (t: number) => iso(t).slice(5, 10)
      : spansDays
        ? (t: number) => `${iso(t).slice(5, 10)} ${iso(t).slice(11, 16)}`
        : (t: number) => iso(t).slice(11, 16);
  return { ticks, label };
}

/** A value with its unit and sensible precision; null (no fresh reading) is a dash. */
export function formatValue(value: number | null | undefined, unit: string, digits?: number): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  const d = digits ?? (unit === 'V' && Math.abs(value) < 10 ? 3 : Math.abs(value) >= 100 ? 0 : 1);
  const text = value.toFixed(d);
  return unit ? `${text} ${unit}` : text;
}

/** "3 min ago" for a last-seen time, relative to `now`. */
export function ago(iso: string | null, now: number): string {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} days ago`;
}

/** A time input holds a wall-clock time, `YYYY-MM-DD HH:MM` in the display zone; the API wants epoch ms. */
export function toInputValue(ms: number): string {
  return wall(ms).slice(0, 16).replace('T', ' ');
}
/** The instant a time input's text names (a `T` for the space is taken too), or undefined when it names none. */
export function fromInputValue(value: string): number | undefined {
  // Date.parse is lenient (it reads "garbage:00Z" as a date); accept only the input's own format.
  const m = /^\s*(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d)\s*$/.exec(value);
  if (!m) return undefined;
  const asUtc = Date.parse(`${m[1]}T${m[2]}:00Z`);
  if (Number.isNaN(asUtc)) return undefined;
  // The instant whose wall clock reads `value`: the offset there, checked once more across a DST change.
  const guess = asUtc - offsetAt(asUtc);
  const t = asUtc - offsetAt(guess);
  // A day past its month's end, or a wall time a DST change skips, names no instant.
  return toInputValue(t) === `${m[1]} ${m[2]}` ? t : undefined;
}
