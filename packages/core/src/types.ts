import type { RecordByKind, RecordKind, SignalSpec } from './catalog.js';

/** Why a CSV line did not become a reading. Every line read is either accepted or one of these. */
export const REJECT_REASONS = [
  'blank_line',
  'wrong_column_count',
  'bad_timestamp',
  'empty_value',
  'non_numeric',
  'duplicate',
  'superseded',
  /** The file's last line has no newline yet: a line being written, read once its newline arrives. */
  'truncated',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export type RejectCounts = Record<RejectReason, number>;

export interface SignalQuality {
  /** Data lines read (header excluded). Always `accepted + sum(rejected)`. */
  linesRead: number;
  accepted: number;
  rejected: RejectCounts;
  /** Lines that arrived out of time order and were sorted in. */
  outOfOrder: number;
  /** Accepted readings outside the catalogue's plausible range (kept; they may be real faults). */
  outOfRange: number;
  /**
   * Who read the file: the byte scanner; fast-csv (the file uses CSV quoting); or the
   * scanner with quotes as plain bytes, when the quoting was broken beyond fast-csv.
   */
  parser: 'scanner' | 'fast-csv' | 'lenient-scanner';
}

/** One time interval, epoch milliseconds, both ends inclusive. */
export interface TimeSpan {
  from: number;
  to: number;
}

export interface SignalInfo {
  signal: string;
  spec: SignalSpec;
  rows: number;
  /** First and last reading (epoch ms); null when the file holds no reading. */
  first: number | null;
  last: number | null;
  /** Median spacing of readings, measured from the data (ms). */
  medianPeriodMs: number | null;
  /** A reading older than this no longer describes the present (ms). */
  staleAfterMs: number | null;
  /** Fraction of [first, last] in which the signal had a fresh reading (0..1). */
  coverage: number;
  /** Silent periods longer than the staleness limit. */
  gaps: number;
  quality: SignalQuality;
}

export interface DeviceInfo {
  id: string;
  first: number | null;
  last: number | null;
  signals: SignalInfo[];
  hasBms: boolean;
  hasPcs: boolean;
  hasCells: boolean;
}

/** An aligned record of either kind: the seed's BMSReading / PCSReading (ISO timestamp, nullable fields). */
export type AlignedRecord = RecordByKind[RecordKind];

export interface PageQuery {
  skip: number;
  limit: number;
  /** Inclusive bounds, epoch ms. */
  from?: number;
  to?: number;
  /** Grid step in ms; default: the median period of the kind's fastest signal. */
  stepMs?: number;
}

export interface Page<K extends RecordKind = RecordKind> {
  deviceId: string;
  kind: K;
  /** Records available for this query (all of them, not just this page). */
  total: number;
  skip: number;
  stepMs: number;
  records: RecordByKind[K][];
}

/** Raw readings of one signal. */
export interface Series {
  t: Float64Array;
  v: Float64Array;
}

/** A downsampled series: per bucket the time of the bucket and min/max/mean, so spikes survive. */
export interface BucketSeries {
  signal: string;
  bucketMs: number;
  t: number[];
  min: number[];
  max: number[];
  mean: number[];
}

export class BessError extends Error {
  constructor(
    readonly code: 'NOT_FOUND' | 'BAD_REQUEST' | 'SERVICE_UNAVAILABLE',
    message: string,
    /** The input field that failed, when there is one. */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'BessError';
  }
}

export class UnknownDeviceError extends BessError {
  constructor(readonly deviceId: string) {
    super('NOT_FOUND', `unknown device ${JSON.stringify(deviceId.slice(0, 80))}`, 'deviceId');
  }
}

/** An index's rows do not match their page summaries (the disk or someone damaged them): it is being rebuilt from its CSV. */
export class IndexDamagedError extends BessError {
  constructor(
    readonly path: string,
    readonly page: number,
  ) {
    super(
      'SERVICE_UNAVAILABLE',
      `the index of ${path.split('/').slice(-2).join('/')} is damaged and is being rebuilt from its CSV; retry shortly`,
    );
  }
}

export class UnknownSignalError extends BessError {
  constructor(
    readonly deviceId: string,
    readonly signal: string,
  ) {
    super('NOT_FOUND', `device ${deviceId} has no signal ${JSON.stringify(signal.slice(0, 80))}`, 'signal');
  }
}

/** What a refresh (live tail) found: new readings per device and signal. */
export interface DatasetChange {
  /** deviceId -> signals that gained readings (or were rebuilt). */
  devices: Map<string, string[]>;
  /** Newest reading time per changed device (epoch ms). */
  latest: Map<string, number>;
}

/**
 * Why a signal file is not served as it is on disk. `refused`: not a regular file (a link, a named
 * pipe, a device), never read. `failed`: its index could not be written or read (disk full, read-only,
 * unreadable): its readings are missing or stale until the cause is fixed, and the server is not ready.
 */
export type IngestProblemKind = 'refused' | 'failed';

export interface IngestProblem {
  deviceId: string;
  signal: string;
  kind: IngestProblemKind;
  error: string;
  /** When it was last seen (epoch ms). */
  at: number;
}

export interface DatasetHealth {
  /** Signal files whose last index attempt did not succeed, by device and signal name. */
  problems: IngestProblem[];
  /** Index blocks found damaged when read (checksum mismatch) since start; each one's file is rebuilt. */
  damagedBlocks: number;
  /** Set while the store's database cannot be reached (the PostgreSQL store): since when (epoch ms), and why. */
  unavailable?: { since: number; error: string };
}

export interface OpenOptions {
  /** Where the binary indexes live; default `<root>/.bess-index`. */
  indexDir?: string;
  /** Parallel indexing workers; default: the number of cores. */
  workers?: number;
  /** How long indexing workers wait for work before they exit (ms); default 5 000. */
  workerIdleMs?: number;
  /** How long one file's indexing may take before its worker is replaced and the job fails (ms); default 120 000. */
  jobTimeoutMs?: number;
  /** Structured log sink (one object per event). */
  log?: (event: Record<string, unknown>) => void;
}

/**
 * The data engine's public surface. Everything the API serves goes through this.
 * All times are epoch milliseconds (UTC). Unknown ids throw UnknownDeviceError /
 * UnknownSignalError; out-of-range arguments throw BessError('BAD_REQUEST', ..., field).
 */
export interface BessDataset {
  readonly root: string;
  devices(): DeviceInfo[];
  device(deviceId: string): DeviceInfo;
  /** The default grid step of a record kind for a device (ms). */
  defaultStepMs(deviceId: string, kind: RecordKind): number;
  /** Aligned BMS/PCS records on the device's time grid, paged; cost independent of `skip`. */
  page<K extends RecordKind>(deviceId: string, kind: K, query: PageQuery): Promise<Page<K>>;
  /** Index (skip) of the first record at or after `t` on the device's grid; may equal the total. */
  positionOf(deviceId: string, kind: RecordKind, t: number, stepMs?: number): number;
  /** Raw readings of one signal within [from, to]; at most `maxRows` (default 100 000), else BAD_REQUEST. */
  readSignal(deviceId: string, signal: string, from: number, to: number, maxRows?: number): Promise<Series>;
  /** The last reading at or before `t` (as-of), or null when there is none. */
  valueAt(deviceId: string, signal: string, t: number): Promise<{ t: number; v: number } | null>;
  /** At most `maxPoints` buckets over [from, to], each with min/max/mean so spikes stay visible. */
  downsample(deviceId: string, signal: string, from: number, to: number, maxPoints: number): Promise<BucketSeries>;
  /**
   * Prepares each device's first and last page of each record kind (its time grid, files and
   * the code that assembles records), a device at a time, yielding to other work in between:
   * a server calls it once it listens, so the first dashboards after a restart are answered warm.
   */
  warm(): Promise<void>;
  /** Pick up rows appended to files since the last index (and rebuild changed files). */
  refresh(): Promise<DatasetChange>;
  /** Follow the files: file-change notifications, and a full check every `intervalMs`; returns a stop function. */
  watch(intervalMs: number): () => void;
  /** Called after every refresh that found new readings; returns an unsubscribe function. */
  onChange(listener: (change: DatasetChange) => void): () => void;
  /** Indexing worker threads running now: they start with indexing work and exit after `workerIdleMs` without it. */
  readonly indexWorkers: number;
  /** What ingestion could not do: readiness and metrics report it. */
  health(): DatasetHealth;
  close(): Promise<void>;
}
