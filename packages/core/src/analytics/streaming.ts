import {
  describeSignal,
  parseCellSignal,
  RECORD_SIGNALS,
  type RecordKind,
  type SignalLimits,
  type SignalSpec,
} from '../catalog.js';
import type { AlignedRecord, SignalInfo } from '../types.js';
import { MOVING_SHARE, round, RunProfile, spikeAgainst, STUCK_FACTOR } from './detectors.js';
import { eventId, excess, SEVERITY_RANK, type AnomalyEvent, type AnomalyKind, type Severity } from './events.js';
import {
  cellSides,
  CURRENT_SPIKE,
  DEVICE_SILENCE_MS,
  FAST_RISE,
  HEARTBEAT_SIGNALS,
  LIMIT_RULES,
  MERGE_GAP_MS,
  PACK_WIDE,
  PHASE_IMBALANCE,
  releaseLevel,
  ruleLimits,
  STUCK_MIN_BASELINE_MS,
  STUCK_MIN_MS,
  watchForStuck,
} from './rules.js';

export type AlertStatus = 'opened' | 'escalated' | 'closed';

/** A change in an event's life: it opened, turned critical, or ended (then `event.end` is final). */
export interface AlertUpdate {
  status: AlertStatus;
  event: AnomalyEvent;
}

export interface StreamingDetectorOptions {
  deviceId: string;
  /** The device's measured signal periods (`dataset.device(id).signals`): the offline limit follows them. */
  signals?: readonly SignalInfo[];
  /**
   * A condition clear for longer than this closes its event (default: the batch merge gap).
   * Unseen (no reading of its signal), it closes once that reading has also gone stale
   * (`signals`' `staleAfterMs`): a cell logged every 10 min is not clear between its readings.
   */
  gapMs?: number;
}

export interface StreamingDetector {
  /** One aligned BMS or PCS record, in time order. */
  pushRecord(kind: RecordKind, record: AlignedRecord): AlertUpdate[];
  /** One raw reading of any signal (fire detectors, cells, ...), in time order per signal. */
  pushReading(signal: string, t: number, v: number): AlertUpdate[];
  /** End of stream: closes every open event. */
  close(): AlertUpdate[];
  /** Events open now. */
  openEvents(): AnomalyEvent[];
}

/** What a check saw at one reading: the condition holds, with its evidence. */
interface Finding {
  severity: Severity;
  observed: number;
  threshold: number | [number, number];
  message: string;
  /** How far past the limit, in the bad direction (negative inside a hysteresis band): "worse" is larger. */
  beyond: number;
  /** When the condition began, when that is before this reading (a stuck run). */
  since?: number;
}

const worse = (a: Finding, b: Finding) =>
  SEVERITY_RANK[a.severity] > SEVERITY_RANK[b.severity] || (a.severity === b.severity && a.beyond > b.beyond);

/** One condition's event life: pending until it has held `minDurationMs`, open until clear for `gapMs`. */
class Condition {
  event: AnomalyEvent | null = null;
  private pending: Finding | null = null;
  private pendingSince = -1;
  private lastHeld = -1;
  private worstBeyond = -Infinity;

  constructor(
    private readonly deviceId: string,
    private readonly kind: AnomalyKind,
    private readonly signals: string[],
    private readonly minDurationMs: number,
    private readonly gapMs: number,
    /** How long the condition may go unseen before it counts as clear: at least gapMs. */
    private readonly unseenMs: number,
    private readonly opened: Set<Condition>,
  ) {}

  /** Holding: open, or on its way to opening (hysteresis checks ask this). */
  get holding(): boolean {
    return this.event !== null || this.pendingSince >= 0;
  }

  update(t: number, finding: Finding | null, out: AlertUpdate[]): void {
    if (!finding) {
      this.expire(t, out, false, true);
      if (!this.event) {
        this.pendingSince = -1;
        this.pending = null;
      }
      return;
    }
    this.lastHeld = t;
    if (this.event) {
      const e = this.event;
      e.end = t;
      if (SEVERITY_RANK[finding.severity] > SEVERITY_RANK[e.severity]) {
        Object.assign(e, {
          severity: finding.severity,
          threshold: finding.threshold,
          observed: finding.observed,
          message: finding.message,
        });
        this.worstBeyond = finding.beyond;
        out.push({ status: 'escalated', event: { ...e } });
      } else if (finding.beyond > this.worstBeyond) {
        e.observed = finding.observed;
        e.message = finding.message;
        this.worstBeyond = finding.beyond;
      }
      return;
    }
    if (this.pendingSince < 0) this.pendingSince = finding.since ?? t;
    if (!this.pending || worse(finding, this.pending)) this.pending = finding;
    if (t - this.pendingSince < this.minDurationMs) return;
    const { since: _since, beyond, ...evidence } = this.pending;
    this.worstBeyond = beyond;
    const start = this.pendingSince;
    this.event = {
      ...evidence,
      id: eventId(this.deviceId, { kind: this.kind, signals: this.signals, start }),
      deviceId: this.deviceId,
      kind: this.kind,
      signals: this.signals,
      start,
      end: t,
    };
    this.pending = null;
    this.pendingSince = -1;
    this.opened.add(this);
    out.push({ status: 'opened', event: { ...this.event } });
  }

  /** Closes the event when the condition has been clear (or unseen) for longer than its tolerance. */
  expire(t: number, out: AlertUpdate[], force = false, clear = false): void {
    if (!this.event || (!force && t - this.lastHeld <= (clear ? this.gapMs : this.unseenMs))) return;
    out.push({ status: 'closed', event: { ...this.event, end: this.lastHeld } });
    this.event = null;
    this.opened.delete(this);
  }
}

/** One check of one signal's readings: its finding at each reading, or null when the condition is clear. */
type See = (t: number, v: number) => Finding | null;

/**
 * The checks of one signal. Checks of the same kind share one condition (a current
 * past its limit and a current jumping off its median are one spike), as the batch
 * scan merges them into one event.
 */
class SignalWatch {
  private readonly conditions: Condition[] = [];
  private readonly sees: { see: See; slot: number }[] = [];
  private readonly found: (Finding | null)[] = [];

  add(c: Condition, see: (c: Condition) => See): void {
    let slot = this.conditions.indexOf(c);
    if (slot < 0) slot = this.conditions.push(c) - 1;
    this.sees.push({ see: see(c), slot });
  }

  push(t: number, v: number, out: AlertUpdate[]): void {
    const found = this.found;
    for (let k = 0; k < this.conditions.length; k++) found[k] = null;
    for (const { see, slot } of this.sees) {
      const f = see(t, v);
      if (f && (!found[slot] || worse(f, found[slot]))) found[slot] = f;
    }
    for (let k = 0; k < this.conditions.length; k++) this.conditions[k]!.update(t, found[k]!, out);
  }
}

/**
 * The streaming detector behind `analytics.alerts`: fed records or readings one at a
 * time, it reports each event when it opens, escalates and closes, with the same
 * rules and catalogue limits as the batch scan. Each check keeps O(1) or a small
 * fixed window of state, so a record costs microseconds.
 */
export function createStreamingDetector(options: StreamingDetectorOptions): StreamingDetector {
  const { deviceId } = options;
  const gapMs = options.gapMs ?? MERGE_GAP_MS;
  const opened = new Set<Condition>();
  const watches = new Map<string, SignalWatch>();
  const periods = new Map(
    (options.signals ?? []).flatMap((s) => (s.medianPeriodMs ? [[s.signal, s.medianPeriodMs] as const] : [])),
  );
  const staleness = new Map(
    (options.signals ?? []).flatMap((s) => (s.staleAfterMs ? [[s.signal, s.staleAfterMs] as const] : [])),
  );
  const conditions = new Map<string, Condition>();
  const condition = (kind: AnomalyKind, signals: string[], minDurationMs = 0) => {
    const key = `${kind}|${signals.join(',')}`;
    let c = conditions.get(key);
    const unseenMs = Math.max(gapMs, ...signals.map((s) => staleness.get(s) ?? 0));
    if (!c) conditions.set(key, (c = new Condition(deviceId, kind, signals, minDurationMs, gapMs, unseenMs, opened)));
    return c;
  };
  const fast = (options.signals ?? []).filter((s) => HEARTBEAT_SIGNALS.includes(s.signal));
  const silenceMs = Math.max(DEVICE_SILENCE_MS, ...fast.map((s) => s.staleAfterMs ?? 0));
  const offline = condition('offline_gap', ['*']);
  let lastSeen = -Infinity;
  const phases = phaseImbalanceCheck(
    condition('phase_imbalance', [...PHASE_IMBALANCE.signals], PHASE_IMBALANCE.minDurationMs),
  );

  const packWide = (kind: AnomalyKind): Condition | undefined => {
    for (const rule of LIMIT_RULES) {
      for (const side of [rule.high, rule.low])
        if (side && PACK_WIDE[side] === kind) return condition(side, [rule.signal], rule.minDurationMs);
    }
    return undefined;
  };

  const context: CheckContext = {
    packWide,
    periodOf: (signal) => periods.get(signal),
    stalenessOf: (signal) => staleness.get(signal),
  };
  const watchOf = (signal: string): SignalWatch => {
    let watch = watches.get(signal);
    if (watch) return watch;
    watch = new SignalWatch();
    for (const check of checksOf(signal))
      watch.add(condition(check.kind, [signal], check.minDurationMs), (c) => check.see(c, context));
    watches.set(signal, watch);
    return watch;
  };

  /**
   * Device-wide bookkeeping once per instant: events whose condition went unseen
   * close, and a heartbeat after a long silence reports the device offline. Records
   * keep coming from slow signals' last readings for a while, so only the heartbeat counts.
   */
  const advance = (t: number, heartbeat: boolean, out: AlertUpdate[]) => {
    for (const c of opened) c.expire(t, out);
    if (!heartbeat) return;
    if (t - lastSeen > silenceMs && Number.isFinite(lastSeen)) {
      const minutes = (t - lastSeen) / 60_000;
      const silence: Finding = {
        severity: t - lastSeen > 6 * silenceMs ? 'critical' : 'warning',
        observed: round(minutes),
        threshold: round(silenceMs / 60_000),
        beyond: minutes,
        message: `Device silent for ${Math.round(minutes)} min`,
      };
      offline.update(lastSeen, silence, out);
      offline.update(t, silence, out);
      offline.expire(t, out, true);
    }
    if (t > lastSeen) lastSeen = t;
  };

  const phaseSignals: readonly string[] = PHASE_IMBALANCE.signals;
  const phaseFields = phaseSignals.map((signal) => describeSignal(signal).field!);
  const heartbeatField = Object.fromEntries(
    (['bms', 'pcs'] as const).map((kind) => [
      kind,
      RECORD_SIGNALS[kind].find((s) => HEARTBEAT_SIGNALS.includes(s.signal))?.field ?? '',
    ]),
  ) as Record<RecordKind, string>;
  const fieldSignals: Record<RecordKind, [string, string][]> = {
    bms: RECORD_SIGNALS.bms.map((s: SignalSpec) => [s.field!, s.signal]),
    pcs: RECORD_SIGNALS.pcs.map((s: SignalSpec) => [s.field!, s.signal]),
  };

  return {
    pushRecord(kind, record) {
      const t = Date.parse(record.timestamp);
      const out: AlertUpdate[] = [];
      if (Number.isNaN(t)) return out;
      advance(t, typeof record[heartbeatField[kind]] === 'number', out);
      for (const [field, signal] of fieldSignals[kind]) {
        const v = record[field];
        if (typeof v !== 'number' || !Number.isFinite(v)) continue;
        watchOf(signal).push(t, v, out);
      }
      if (kind === 'pcs') {
        const [a, b, c] = phaseFields.map((f) => record[f]);
        if (typeof a === 'number' && typeof b === 'number' && typeof c === 'number') phases.judge(t, a, b, c, out);
      }
      return out;
    },
    pushReading(signal, t, v) {
      const out: AlertUpdate[] = [];
      if (!Number.isFinite(t) || !Number.isFinite(v)) return out;
      advance(t, HEARTBEAT_SIGNALS.includes(signal), out);
      watchOf(signal).push(t, v, out);
      if (phaseSignals.includes(signal)) phases.reading(signal, t, v, out);
      return out;
    },
    close() {
      const out: AlertUpdate[] = [];
      for (const c of [...opened]) c.expire(Infinity, out, true);
      return out;
    },
    openEvents() {
      return [...opened].map((c) => ({ ...c.event! }));
    },
  };
}

/** What a check may ask of its detector. */
interface CheckContext {
  /** The pack-wide condition that explains a single-cell kind (an empty pack, not a weak cell). */
  packWide(kind: AnomalyKind): Condition | undefined;
  periodOf(signal: string): number | undefined;
  stalenessOf(signal: string): number | undefined;
}

/** One check on one signal's readings: the condition it feeds and how it judges a reading. */
interface SignalCheck {
  kind: AnomalyKind;
  minDurationMs?: number;
  see(c: Condition, context: CheckContext): See;
}

/**
 * The checks the detector runs on a signal's readings: its catalogue limit rules, a cell's
 * limits, the current spike and fast-rise tests, and the stuck-sensor test. The one list behind
 * both the detector's watches and `watchesSignal`. (The phases are judged together, apart.)
 */
function checksOf(signal: string): SignalCheck[] {
  const spec = describeSignal(signal);
  const cell = parseCellSignal(signal);
  const checks: SignalCheck[] = [];
  for (const rule of LIMIT_RULES.filter((r) => r.signal === signal)) {
    const limits = ruleLimits(rule);
    for (const [kind, high] of [
      [rule.high, true],
      [rule.low, false],
    ] as const) {
      if (kind)
        checks.push({
          kind,
          minDurationMs: rule.minDurationMs,
          see: (c, context) => limitCheck(spec, limits, high, c, context.packWide(kind)),
        });
    }
  }
  if (cell) {
    for (const { kind, high, minDurationMs } of cellSides(cell.quantity)) {
      checks.push({
        kind,
        minDurationMs,
        see: (c, context) => limitCheck(spec, spec.limits ?? {}, high, c, context.packWide(kind)),
      });
    }
  }
  if (signal === CURRENT_SPIKE.signal) checks.push({ kind: 'current_spike', see: () => spikeCheck(spec) });
  if (signal === FAST_RISE.signal) checks.push({ kind: 'fast_temp_rise', see: () => fastRiseCheck() });
  if (watchForStuck(spec)) {
    checks.push({
      kind: 'sensor_stuck',
      see: (_c, context) => stuckCheck(spec, context.periodOf(signal), context.stalenessOf(signal)),
    });
  }
  return checks;
}

/** Whether the detector judges a signal's readings at all: one of its checks, or a phase of the imbalance test. */
export function watchesSignal(signal: string): boolean {
  return checksOf(signal).length > 0 || (PHASE_IMBALANCE.signals as readonly string[]).includes(signal);
}

/** A catalogue limit, one side, with hysteresis: crossing opens, coming back past the release level clears. */
function limitCheck(spec: SignalSpec, limits: SignalLimits, high: boolean, c: Condition, explainedBy?: Condition): See {
  const warn = high ? limits.warnHigh : limits.warnLow;
  const alarm = high ? limits.alarmHigh : limits.alarmLow;
  const trigger = warn ?? alarm;
  const release = releaseLevel(limits, high);
  if (trigger === undefined || release === undefined) return () => null;
  const past = (x: number, limit: number) => (high ? x >= limit : x <= limit);
  return (_t, v) => {
    if (!past(v, c.holding ? release : trigger) || explainedBy?.holding) return null;
    const critical = alarm !== undefined && past(v, alarm);
    const limit = critical ? alarm : trigger;
    return {
      severity: critical ? 'critical' : 'warning',
      observed: v,
      threshold: limit,
      beyond: high ? v - trigger : trigger - v,
      message: `${spec.label} ${high ? 'reached' : 'fell to'} ${round(v)} ${spec.unit} (${high ? 'limit' : 'floor'} ${limit} ${spec.unit})`,
    };
  };
}

/** Robust z-score of each reading against the median and MAD of the readings before it (a ring buffer). */
function spikeCheck(spec: SignalSpec): See {
  const { window, z, floor } = CURRENT_SPIKE;
  const ring = new Float64Array(window);
  const sorted = new Float64Array(window);
  let filled = 0;
  let next = 0;
  return (_t, v) => {
    let finding: Finding | null = null;
    if (filled === window) {
      sorted.set(ring);
      const spike = spikeAgainst(sorted, v, { z, floor, label: spec.label, unit: spec.unit });
      if (spike)
        finding = {
          severity: spike.severity,
          observed: v,
          threshold: spike.threshold,
          beyond: excess({ observed: v, threshold: spike.threshold }),
          message: spike.message,
        };
    }
    ring[next] = v;
    next = (next + 1) % window;
    filled = Math.min(window, filled + 1);
    return finding;
  };
}

/** Rise rate between the oldest reading inside the window and this one. */
function fastRiseCheck(): See {
  const { perMinute, windowMs } = FAST_RISE;
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
    let finding: Finding | null = null;
    if (count > 0) {
      const minutes = (t - times[head]!) / 60_000;
      const rate = (v - values[head]!) / minutes;
      if (minutes >= windowMs / 120_000 && rate >= perMinute) {
        finding = {
          severity: rate >= 2 * perMinute ? 'critical' : 'warning',
          observed: round(rate),
          threshold: perMinute,
          beyond: rate - perMinute,
          message: `Hottest cell temperature rising ${round(rate)} °C/min (limit ${perMinute} °C/min)`,
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

/**
 * One value repeated for longer than `STUCK_MIN_MS` and than `STUCK_FACTOR` times
 * the runs the signal usually holds (its own `RunProfile`, learned as it streams;
 * silent until a day of it has been seen). A silence breaks a run, once longer than the
 * device's and than the signal's own staleness (a file logged every 10 min has gaps of 11).
 */
function stuckCheck(spec: SignalSpec, periodMs: number | undefined, staleMs = 0): See {
  const silenceMs = Math.max(DEVICE_SILENCE_MS, staleMs);
  const profile = new RunProfile();
  let limit = Infinity;
  let readings = 0;
  let changes = 0;
  let runValue = NaN;
  let runStart = -1;
  let lastT = -1;
  return (t, v) => {
    const broken = lastT >= 0 && t - lastT > silenceMs;
    readings++;
    if (v !== runValue || broken) {
      if (runStart >= 0) {
        profile.add((broken ? lastT : t) - runStart);
        if (v !== runValue) changes++;
        // Records repeat a slow signal's last reading until the next: count its own readings by its period when known.
        const own = periodMs ? profile.observedMs / periodMs : readings;
        const moving = changes / Math.max(1, own) >= MOVING_SHARE;
        limit = profile.observedMs < STUCK_MIN_BASELINE_MS || !moving ? Infinity : profile.stuckLimit(STUCK_MIN_MS);
      }
      runValue = v;
      runStart = t;
      lastT = t;
      return null;
    }
    lastT = t;
    const held = t - runStart;
    if (held < limit) return null;
    const minutes = held / 60_000;
    return {
      severity: 'warning',
      observed: round(minutes),
      threshold: round(limit / 60_000),
      beyond: held - limit,
      message: `${spec.label} repeated ${v} for ${Math.round(minutes)} min; it normally holds a value under ${round(limit / STUCK_FACTOR / 60_000, 1)} min`,
      since: runStart,
    };
  };
}

/** Phase imbalance: on each PCS record, or on the latest reading of each phase when all three are recent. */
function phaseImbalanceCheck(c: Condition) {
  const { signals, ratio, minCurrent } = PHASE_IMBALANCE;
  const latest = new Float64Array(3).fill(NaN);
  const seen = new Float64Array(3).fill(-Infinity);
  const judge = (t: number, a: number, b: number, cc: number, out: AlertUpdate[]) => {
    const mean = (a + b + cc) / 3;
    // Too little current to judge: keep the state, only let a stale event close.
    if (mean < minCurrent) return c.expire(t, out);
    const deviation = Math.max(Math.abs(a - mean), Math.abs(b - mean), Math.abs(cc - mean)) / mean;
    c.update(
      t,
      deviation >= ratio
        ? {
            severity: deviation >= 2 * ratio ? 'critical' : 'warning',
            observed: round(deviation),
            threshold: ratio,
            beyond: deviation - ratio,
            message: `AC phase currents ${Math.round(deviation * 100)} % apart from their mean (limit ${Math.round(ratio * 100)} %)`,
          }
        : null,
      out,
    );
  };
  const reading = (signal: string, t: number, v: number, out: AlertUpdate[]) => {
    const k = (signals as readonly string[]).indexOf(signal);
    latest[k] = v;
    seen[k] = t;
    if (Math.min(seen[0]!, seen[1]!, seen[2]!) >= t - 120_000) judge(t, latest[0]!, latest[1]!, latest[2]!, out);
  };
  return { judge, reading };
}
