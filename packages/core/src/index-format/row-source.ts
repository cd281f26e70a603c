import type { Series } from '../types.js';

/** What a store knows of one signal without reading its rows: enough to plan any query. */
export interface RowSourceMeta {
  signal: string;
  rows: number;
  first: number | null;
  last: number | null;
  medianPeriodMs: number | null;
  staleAfterMs: number | null;
  /** Coverage segments `[from, to, ...]`: where the signal had a fresh reading. */
  segments: number[];
}

/**
 * Random access to one signal's rows in 256-row pages with their summaries: what alignment,
 * downsampling and raw reads need of a store. The files store's `SignalReader` reads its index
 * files; the PostgreSQL store serves pages fetched ahead for the query at hand.
 */
export interface RowSource {
  readonly meta: RowSourceMeta;
  readonly rows: number;
  /** `[tFirst, tLast, min, max, sum, count]` per 256-row page. */
  summaries(): Float64Array;
  /** Rows of page `p`, interleaved `[t, v, ...]`. */
  page(p: number): Float64Array;
  /** Rows of 4,096-row block `b`, interleaved. */
  block(b: number): Float64Array;
  indexAtOrBefore(t: number): number;
  indexAtOrAfter(t: number): number;
  time(i: number): number;
  value(i: number): number;
  copyRows(first: number, count: number): Series;
}
