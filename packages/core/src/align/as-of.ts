import { SUMMARY_ROWS } from '../index-format/index.js';
import type { RowSource } from '../index-format/index.js';

/** Steps walked row by row before jumping with a binary search instead. */
const WALK_LIMIT = 32;

/**
 * The as-of value of one signal at each of `times` (ascending): the last reading
 * at or before the time, never a later one, or null when there is none or it is
 * older than `staleAfterMs`. Dense grids walk forward row by row; sparse ones
 * (a step much longer than the signal's period) jump by binary search.
 */
export function valuesAsOf(
  reader: RowSource,
  times: readonly number[],
  staleAfterMs: number | null,
): (number | null)[] {
  const out: (number | null)[] = new Array<number | null>(times.length).fill(null);
  const rows = reader.rows;
  if (rows === 0 || times.length === 0) return out;
  const maxAge = staleAfterMs ?? 0;

  let i = reader.indexAtOrBefore(times[0]!);
  // Rows are read a 256-row page at a time: a page of 100 records needs a few pages of
  // each signal, not its 4,096-row blocks.
  let pageNo = -1;
  let page: Float64Array = new Float64Array(0);
  const load = (row: number): void => {
    const p = Math.floor(row / SUMMARY_ROWS);
    if (p !== pageNo) {
      pageNo = p;
      page = reader.page(p);
    }
  };

  for (let k = 0; k < times.length; k++) {
    const t = times[k]!;
    let walked = 0;
    while (i + 1 < rows && walked < WALK_LIMIT) {
      load(i + 1);
      if (page[((i + 1) % SUMMARY_ROWS) * 2]! > t) break;
      i++;
      walked++;
    }
    if (walked === WALK_LIMIT) i = reader.indexAtOrBefore(t);
    if (i < 0) continue;
    load(i);
    const at = (i % SUMMARY_ROWS) * 2;
    const readingTime = page[at]!;
    if (t - readingTime <= maxAge) out[k] = page[at + 1]!;
  }
  return out;
}
