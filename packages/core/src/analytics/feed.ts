import { BessError, type BessDataset, type DeviceInfo } from '../types.js';
import { TimeSlicer } from '../time-slicer.js';
import type { AlertUpdate } from './condition.js';
import { createStreamingDetector, watchesSignal, type StreamingDetector } from './streaming.js';

const DAY_MS = 86_400_000;
/** How much history a live feed reads before its first record, so what the checks learn (usual moves, offsets, rating) is in place. */
export const WARM_UP_MS = 3 * DAY_MS;
/** By default at most this span is read and merged at once, whatever the span asked for (memory stays bounded). */
const STEP_MS = DAY_MS;

interface Source {
  signal: string;
  input: (t: number, v: number, out: AlertUpdate[]) => void;
  t: Float64Array;
  v: Float64Array;
  next: number;
  /** Everything up to here has been read (inclusive, epoch ms). */
  readTo: number;
  /** The signal's newest reading as of the device's last change. */
  last: number | null;
  /** How far past what is due to read, about READ_AHEAD readings: a live tick mostly reads nothing but buffers. */
  aheadMs: number;
}

const MERGE_SLICE_MS = 3_600_000;
/** Readings of a signal read ahead per read. */
const READ_AHEAD = 32;

/**
 * Every reading the detector watches on one device, fed to it in time order: each watched
 * signal's readings are read forward (never twice) and merged by time, ties in the device's
 * signal order. The batch scan and the live feed both read through this, so they feed the
 * detector the same readings in the same order.
 */
export class ReadingScan {
  /** Readings up to here (inclusive) have been fed. */
  clock: number;
  readings = 0;
  detectorMs = 0;
  private sources: Source[] = [];
  private info: DeviceInfo | null = null;
  private readonly slicer = new TimeSlicer();
  private keys = new Float64Array(0);

  constructor(
    private readonly dataset: BessDataset,
    private readonly deviceId: string,
    readonly detector: StreamingDetector,
    /** Feed readings after this time (exclusive). */
    from: number,
    /** Read and merge at most this span at once (a range scan takes a week: fewer, larger reads). */
    private readonly stepMs = STEP_MS,
  ) {
    this.clock = from;
  }

  /** Feeds every watched reading in (clock, until], a day at a time; returns what the detector reported. */
  async advanceTo(until: number): Promise<AlertUpdate[]> {
    const out: AlertUpdate[] = [];
    while (this.clock < until) {
      const stepTo = Math.min(until, this.clock + this.stepMs);
      this.refreshSources();
      // Reads may resolve from the page cache without a turn of the event loop: yield between them too.
      for (const s of this.sources) if (await this.fill(s, stepTo)) await this.slicer.pause();
      // Merged an hour of data at a time, yielding between (a cabinet-hour is a few milliseconds of work).
      for (let at = this.clock; at < stepTo;) {
        at = Math.min(stepTo, at + MERGE_SLICE_MS);
        this.merge(at, out);
        await this.slicer.pause();
      }
      this.clock = stepTo;
    }
    return out;
  }

  /** Watched signals, picked up again when the device's files change. */
  private refreshSources(): void {
    const info = this.dataset.device(this.deviceId);
    if (info === this.info) return;
    this.info = info;
    const known = new Map(this.sources.map((s) => [s.signal, s]));
    this.sources = info.signals
      .filter((s) => watchesSignal(s.signal))
      .map((s) => {
        const source = known.get(s.signal) ?? {
          signal: s.signal,
          input: this.detector.inputOf(s.signal),
          t: new Float64Array(0),
          v: new Float64Array(0),
          next: 0,
          readTo: this.clock,
          last: null,
          aheadMs: READ_AHEAD * (s.medianPeriodMs ?? 60_000),
        };
        source.last = s.last;
        return source;
      });
  }

  /** Reads a source forward to `to` (what it has logged so far), keeping the readings not yet fed; false when nothing was read. */
  private async fill(s: Source, to: number): Promise<boolean> {
    if (s.readTo >= to) return false;
    const end = Math.min(to + s.aheadMs, s.last ?? -Infinity);
    if (end <= s.readTo) return false; // nothing logged since (a live file not caught up yet)
    const series = await this.readSpan(s.signal, s.readTo + 1, end);
    const left = s.t.length - s.next;
    if (left > 0) {
      const t = new Float64Array(left + series.t.length);
      const v = new Float64Array(left + series.v.length);
      t.set(s.t.subarray(s.next));
      t.set(series.t, left);
      v.set(s.v.subarray(s.next));
      v.set(series.v, left);
      s.t = t;
      s.v = v;
    } else {
      s.t = series.t;
      s.v = series.v;
    }
    s.next = 0;
    s.readTo = end;
    return true;
  }

  /** A span of readings; a span over the read cap (a dense file) is read in halves. */
  private async readSpan(signal: string, from: number, to: number): Promise<{ t: Float64Array; v: Float64Array }> {
    try {
      return await this.dataset.readSignal(this.deviceId, signal, from, to, 1_000_000);
    } catch (error) {
      if (!(error instanceof BessError) || error.code !== 'BAD_REQUEST' || to - from < 2) throw error;
      const mid = Math.floor((from + to) / 2);
      const [a, b] = [await this.readSpan(signal, from, mid), await this.readSpan(signal, mid + 1, to)];
      const t = new Float64Array(a.t.length + b.t.length);
      const v = new Float64Array(a.v.length + b.v.length);
      t.set(a.t);
      t.set(b.t, a.t.length);
      v.set(a.v);
      v.set(b.v, a.v.length);
      return { t, v };
    }
  }

  /**
   * Every buffered reading at or before `to`, oldest first across sources, ties in source order:
   * one sort of the slice's readings by (time, source), with the two packed into one float key
   * when times are whole milliseconds (as parsed), so the sort is a native numeric one.
   */
  private merge(to: number, out: AlertUpdate[]): void {
    const sources = this.sources;
    let count = 0;
    let base = Infinity;
    let top = -Infinity;
    let whole = true;
    for (const s of sources) {
      for (let i = s.next; i < s.t.length && s.t[i]! <= to; i++) {
        const t = s.t[i]!;
        if (t < base) base = t;
        if (t > top) top = t;
        if (!Number.isInteger(t)) whole = false;
        count++;
      }
    }
    if (count === 0) return;
    const started = performance.now();
    const width = 2 ** Math.ceil(Math.log2(sources.length + 1));
    if (whole && (top - base + 1) * width < Number.MAX_SAFE_INTEGER) {
      const keys = this.keysFor(count);
      let n = 0;
      for (let k = 0; k < sources.length; k++) {
        const s = sources[k]!;
        for (let i = s.next; i < s.t.length && s.t[i]! <= to; i++) keys[n++] = (s.t[i]! - base) * width + k;
      }
      keys.sort();
      // width is a power of two, so multiplying by its inverse is exact (and `%` on doubles is a call into C).
      const inverse = 1 / width;
      for (let j = 0; j < count; j++) {
        const key = keys[j]!;
        const offset = Math.floor(key * inverse);
        const s = sources[key - offset * width]!;
        s.input(base + offset, s.v[s.next++]!, out);
      }
    } else {
      const order: [number, number][] = [];
      for (let k = 0; k < sources.length; k++) {
        const s = sources[k]!;
        for (let i = s.next; i < s.t.length && s.t[i]! <= to; i++) order.push([s.t[i]!, k]);
      }
      order.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      for (const [t, k] of order) {
        const s = sources[k]!;
        s.input(t, s.v[s.next++]!, out);
      }
    }
    this.readings += count;
    this.detectorMs += performance.now() - started;
  }

  private keysFor(count: number): Float64Array {
    if (this.keys.length < count) this.keys = new Float64Array(Math.max(count, 2 * this.keys.length));
    return this.keys.subarray(0, count);
  }
}

export interface AlertFeedOptions {
  /** The record kind whose stream drives the feed; default BMS, or PCS for a device without BMS. */
  driver?: 'bms' | 'pcs';
  /** History read before the first record (default `WARM_UP_MS`); what it finds still open is reported as opened. */
  warmUpMs?: number;
}

export interface AlertFeedStats {
  /** Driving records pushed. */
  records: number;
  /** Raw readings fed to the detector. */
  readings: number;
  /** Time spent inside the detector (ms), reading excluded. */
  detectorMs: number;
}

/**
 * The live alerts of one device, driven by one aligned record stream (the `analytics.alerts`
 * subscription's hub stream, the alarm monitor's pages, or a replay): each record at time T
 * feeds the detector every watched reading up to T. The records only keep time; the detector
 * sees raw readings, as the batch scan does. Before its first record the feed reads
 * `warmUpMs` of history; when the stream goes back in time (a replay cycling to the start),
 * it starts over with a fresh detector.
 */
export class DeviceAlertFeed {
  readonly driver: 'bms' | 'pcs';
  private scan: ReadingScan | null = null;
  private readonly warmUpMs: number;
  private done: AlertFeedStats = { records: 0, readings: 0, detectorMs: 0 };
  private records = 0;

  constructor(
    private readonly dataset: BessDataset,
    private readonly deviceId: string,
    options: AlertFeedOptions = {},
  ) {
    const info = dataset.device(deviceId);
    this.driver = options.driver ?? (info.hasBms || !info.hasPcs ? 'bms' : 'pcs');
    this.warmUpMs = options.warmUpMs ?? WARM_UP_MS;
  }

  get stats(): AlertFeedStats {
    return {
      records: this.records,
      readings: this.done.readings + (this.scan?.readings ?? 0),
      detectorMs: this.done.detectorMs + (this.scan?.detectorMs ?? 0),
    };
  }

  /** The driving stream's next record: what the detector reports up to and including its time. */
  async push(record: { timestamp: string }): Promise<AlertUpdate[]> {
    const t = Date.parse(record.timestamp);
    if (Number.isNaN(t)) return [];
    this.records++;
    if (this.scan && t < this.scan.clock) {
      this.done = { records: 0, readings: this.stats.readings, detectorMs: this.stats.detectorMs };
      this.scan = null;
    }
    if (this.scan) return this.scan.advanceTo(t);
    const first = this.dataset.device(this.deviceId).first ?? t;
    const detector = createStreamingDetector({
      deviceId: this.deviceId,
      signals: this.dataset.device(this.deviceId).signals,
    });
    this.scan = new ReadingScan(this.dataset, this.deviceId, detector, Math.max(first - 1, t - this.warmUpMs));
    // What the warm-up saw has passed; what it left open is news to whoever watches from here.
    await this.scan.advanceTo(t - 1);
    const open: AlertUpdate[] = detector.openEvents().map((event) => ({ status: 'opened', event }));
    return [...open, ...(await this.scan.advanceTo(t))];
  }

  /** Feeds the readings logged after the last record, up to `until` (a replay's end: the data's last reading). */
  async drainTo(until: number): Promise<AlertUpdate[]> {
    return this.scan && until > this.scan.clock ? this.scan.advanceTo(until) : [];
  }

  /** End of the stream: closes every open event. */
  close(): AlertUpdate[] {
    return this.scan?.detector.close() ?? [];
  }
}
