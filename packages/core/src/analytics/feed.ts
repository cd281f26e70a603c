import { RECORD_SIGNALS, type RecordKind } from '../catalog.js';
import { BessError, type AlignedRecord, type BessDataset, type DeviceInfo } from '../types.js';
import { createStreamingDetector, watchesSignal, type AlertUpdate, type StreamingDetector } from './streaming.js';

export interface AlertFeedOptions {
  /** The record kind whose stream drives the feed; default BMS, or PCS for a device without BMS. */
  driver?: RecordKind;
  /** Grid step of the driving stream (ms); default the kind's default step. Only the first tick's window depends on it. */
  driverStepMs?: number;
  /** At most this many records of the other kind per tick; older ones are skipped when a coarse step piles up more. */
  maxRecordsPerTick?: number;
  /** At most this many readings of one signal per tick, likewise. */
  maxReadingsPerTick?: number;
}

export interface AlertFeedStats {
  /** Aligned records pushed into the detector (both kinds). */
  records: number;
  /** Raw readings pushed into the detector. */
  readings: number;
  /** Time spent inside the detector (ms), reading excluded. */
  detectorMs: number;
  /** Times a per-tick cap left out older records or readings. */
  skipped: number;
}

const OTHER: Record<RecordKind, RecordKind> = { bms: 'pcs', pcs: 'bms' };
/** Records of the other kind read per page. */
const PAGE = 256;
/** Readings of a signal read ahead per read (a signal is read again only when its buffer runs out). */
const READ_AHEAD = 32;
const RECORD_SIGNAL_NAMES = new Set([...RECORD_SIGNALS.bms, ...RECORD_SIGNALS.pcs].map((s) => s.signal));

interface RawSource {
  signal: string;
  /** Span to read ahead of the tick, from the signal's period: about READ_AHEAD readings. */
  aheadMs: number;
  t: Float64Array;
  v: Float64Array;
  next: number;
  /** Everything up to here has been read (inclusive, epoch ms). */
  readTo: number;
}

/** One thing to push at one instant. */
type Item = { t: number; record: AlignedRecord; kind: RecordKind } | { t: number; signal: string; v: number };

/**
 * Everything the streaming detector watches on one device, in time order, driven by one
 * aligned record stream (the `analytics.alerts` subscription's hub stream, or a replay).
 * For each driving record at time T it reads what else happened in (previous T, T]: the
 * other kind's aligned records (BMS and PCS merged, as `replayAlerts` feeds them) and the
 * raw readings of every watched signal outside the records (cells, cooling, enclosure,
 * fire and gas), then pushes them all into one detector, oldest first.
 *
 * Reads move forward only (positions and per-signal cursors; nothing is read twice) and
 * each signal is read ahead about READ_AHEAD readings, so most ticks read nothing but
 * the buffers. A tick feeds at most `maxRecordsPerTick` records and `maxReadingsPerTick`
 * readings per signal: when a coarse step leaves more than that since the last tick, the
 * newest are kept. When the driving stream goes back in time (a replay cycling to the
 * start), the feed starts over with a fresh detector.
 */
export class DeviceAlertFeed {
  readonly driver: RecordKind;
  readonly stats: AlertFeedStats = { records: 0, readings: 0, detectorMs: 0, skipped: 0 };
  private readonly driverStepMs: number;
  private readonly maxRecords: number;
  private readonly maxReadings: number;
  private detector!: StreamingDetector;
  /** Time of the last driving record (-Infinity before the first). */
  private clock = -Infinity;
  private readonly other: {
    kind: RecordKind;
    stepMs: number;
    buffer: AlignedRecord[];
    next: number;
    after: number;
  } | null;
  private sources = new Map<string, RawSource>();
  private info: DeviceInfo | null = null;
  private lastOf = new Map<string, number | null>();

  constructor(
    private readonly dataset: BessDataset,
    private readonly deviceId: string,
    options: AlertFeedOptions = {},
  ) {
    const info = dataset.device(deviceId);
    this.driver = options.driver ?? (info.hasBms || !info.hasPcs ? 'bms' : 'pcs');
    this.driverStepMs = options.driverStepMs ?? dataset.defaultStepMs(deviceId, this.driver);
    this.maxRecords = options.maxRecordsPerTick ?? 2048;
    this.maxReadings = options.maxReadingsPerTick ?? 256;
    const otherKind = OTHER[this.driver];
    const hasOther = otherKind === 'bms' ? info.hasBms : info.hasPcs;
    this.other = hasOther
      ? { kind: otherKind, stepMs: dataset.defaultStepMs(deviceId, otherKind), buffer: [], next: 0, after: -Infinity }
      : null;
    this.restart();
  }

  /** The driving stream's next record: what the detector reports up to and including its time. */
  async push(record: AlignedRecord): Promise<AlertUpdate[]> {
    const t = Date.parse(record.timestamp);
    if (Number.isNaN(t)) return [];
    if (t < this.clock) this.restart();
    if (this.clock === -Infinity) this.start(t - this.driverStepMs);
    this.refreshSignals();
    const items: Item[] = [];
    if (this.other) await this.otherRecords(t, items);
    for (const source of this.sources.values()) await this.readings(source, t, items);
    items.push({ t, record, kind: this.driver });
    this.clock = t;
    // Stable: at one instant the other kind's records, then readings, then the driving record.
    items.sort((a, b) => a.t - b.t);
    const started = performance.now();
    const out: AlertUpdate[] = [];
    for (const item of items) {
      if ('record' in item) {
        out.push(...this.detector.pushRecord(item.kind, item.record));
        this.stats.records++;
      } else {
        out.push(...this.detector.pushReading(item.signal, item.t, item.v));
        this.stats.readings++;
      }
    }
    this.stats.detectorMs += performance.now() - started;
    return out;
  }

  /** End of the stream: closes every open event. */
  close(): AlertUpdate[] {
    return this.detector.close();
  }

  private restart(): void {
    this.detector = createStreamingDetector({
      deviceId: this.deviceId,
      signals: this.dataset.device(this.deviceId).signals,
    });
    this.clock = -Infinity;
    this.sources = new Map();
    this.info = null;
  }

  /** The first tick covers one driving step before its record. */
  private start(from: number): void {
    if (this.other) Object.assign(this.other, { buffer: [], next: 0, after: from });
    this.clock = from;
  }

  /** Watched signals outside the records, picked up again when the device's files change. */
  private refreshSignals(): void {
    const info = this.dataset.device(this.deviceId);
    if (info === this.info) return;
    this.info = info;
    this.lastOf = new Map(info.signals.map((s) => [s.signal, s.last]));
    const sources = new Map<string, RawSource>();
    for (const s of info.signals) {
      if (RECORD_SIGNAL_NAMES.has(s.signal) || !watchesSignal(s.signal)) continue;
      const known = this.sources.get(s.signal);
      const aheadMs = READ_AHEAD * (s.medianPeriodMs ?? this.driverStepMs);
      sources.set(
        s.signal,
        known ?? {
          signal: s.signal,
          aheadMs,
          t: new Float64Array(0),
          v: new Float64Array(0),
          next: 0,
          readTo: this.clock,
        },
      );
    }
    this.sources = sources;
  }

  /** The other kind's records in (last one fed, t], by grid position (pages of the stream's cached grid). */
  private async otherRecords(t: number, items: Item[]): Promise<void> {
    const o = this.other!;
    const end = this.dataset.positionOf(this.deviceId, o.kind, t + 1, o.stepMs);
    let at = this.dataset.positionOf(this.deviceId, o.kind, o.after + 1, o.stepMs);
    if (end - at > this.maxRecords) {
      at = end - this.maxRecords;
      o.buffer = [];
      o.next = 0;
      this.stats.skipped++;
    }
    for (; at < end; at++) {
      if (o.next >= o.buffer.length) {
        o.buffer = (
          await this.dataset.page(this.deviceId, o.kind, { skip: at, limit: PAGE, stepMs: o.stepMs })
        ).records;
        o.next = 0;
        if (o.buffer.length === 0) return;
      }
      const record = o.buffer[o.next]!;
      const rt = Date.parse(record.timestamp);
      if (rt > t) return;
      o.next++;
      o.after = rt;
      items.push({ t: rt, record, kind: o.kind });
    }
  }

  /** One signal's readings in (last one fed, t], reading ahead when its buffer has run out. */
  private async readings(s: RawSource, t: number, items: Item[]): Promise<void> {
    this.consume(s, t, items);
    if (s.next < s.t.length || s.readTo >= t) return;
    const last = this.lastOf.get(s.signal);
    let from = s.readTo + 1;
    let to = Math.min(last ?? -Infinity, t + s.aheadMs);
    if (to < from) return; // nothing logged since (a live file not caught up yet)
    let skipped = false;
    for (;;) {
      try {
        const series = await this.dataset.readSignal(this.deviceId, s.signal, from, to, this.maxReadings);
        s.t = series.t;
        s.v = series.v;
        s.next = 0;
        s.readTo = to;
        break;
      } catch (error) {
        if (!(error instanceof BessError) || error.code !== 'BAD_REQUEST' || to === from) throw error;
        // More than the cap: read less ahead, and failing that keep the newest of the readings due now.
        if (to > t) to = Math.max(t, Math.floor((from + to) / 2));
        else {
          from = Math.ceil((from + to) / 2);
          skipped = true;
        }
      }
    }
    if (skipped) this.stats.skipped++;
    this.consume(s, t, items);
  }

  private consume(s: RawSource, t: number, items: Item[]): void {
    while (s.next < s.t.length && s.t[s.next]! <= t) {
      items.push({ t: s.t[s.next]!, signal: s.signal, v: s.v[s.next]! });
      s.next++;
    }
  }
}
