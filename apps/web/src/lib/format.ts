/** Times are shown in UTC, as the cabinets log them, so a chart and a CSV row read the same. */
export function formatClock(iso: string | number): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '—' : d.toISOString().slice(11, 19);
}

export function formatDateTime(iso: string | number | null | undefined): string {
  if (iso === null || iso === undefined) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '—' : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
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
 * Ticks for a time axis over [from, to] (UTC): at most `most`, on whole steps of a ladder (1 min
 * to a quarter), each labelled once. Labels carry the date whenever the range spans days.
 */
export function timeTicks(from: number, to: number, most = 5): { ticks: number[]; label: (t: number) => string } {
  if (!Number.isFinite(from) || !Number.isFinite(to)) return { ticks: [], label: () => '' };
  const span = Math.max(to - from, MINUTE);
  const step = TICK_STEPS.find((s) => span / s <= most) ?? TICK_STEPS.at(-1)!;
  const ticks: number[] = [];
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) ticks.push(t);
  const iso = (t: number) => new Date(t).toISOString();
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

/** <input type="datetime-local"> works in local time; the API wants UTC. */
export function toInputValue(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16);
}
export function fromInputValue(value: string): number | undefined {
  // Date.parse is lenient (it reads "garbage:00Z" as a date); accept only the input's own format.
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d$/.test(value)) return undefined;
  const ms = Date.parse(`${value}:00Z`);
  return Number.isNaN(ms) ? undefined : ms;
}
