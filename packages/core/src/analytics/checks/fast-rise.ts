import { round, type See } from '../condition.js';

/** Rise rate between the oldest reading inside the window and this one, per minute; the window must be half full. */
export function fastRiseCheck(o: { perMinute: number; windowMs: number; label: string }): See {
  const { perMinute, windowMs } = o;
  const size = 256;
  const times = new Float64Array(size);
  const values = new Float64Array(size);
  let head = 0;
  let count = 0;
  return (t, v) => {
    while (count > 0 && t - times[head]! > windowMs) {
      head = (head + 1) % size;
      count--;
    }
    if (count === size) {
      head = (head + 1) % size;
      count--;
    }
    let finding = null;
    if (count > 0) {
      const minutes = (t - times[head]!) / 60_000;
      const rate = (v - values[head]!) / minutes;
      if (minutes >= windowMs / 120_000 && rate >= perMinute) {
        finding = {
          severity: rate >= 2 * perMinute ? ('critical' as const) : ('warning' as const),
          observed: round(rate),
          threshold: perMinute,
          beyond: rate - perMinute,
          message: `${o.label} rising ${round(rate)} °C/min (limit ${perMinute} °C/min)`,
          since: times[head]!,
        };
      }
    }
    const tail = (head + count) % size;
    times[tail] = t;
    values[tail] = v;
    count++;
    return finding;
  };
}
