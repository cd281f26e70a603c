import { describeSignal, parseCellSignal } from '../catalog.js';
import type { SignalInfo } from '../types.js';
import { CELL_VS_PACK, PackCells } from './checks/cell-pack.js';
import { DeviceState } from './checks/context.js';
import { fastRiseCheck } from './checks/fast-rise.js';
import { phaseImbalanceCheck, PHASE_IMBALANCE } from './checks/imbalance.js';
import { limitCheck, standsApart } from './checks/limit.js';
import { spikeCheck } from './checks/spike.js';
import { stuckCheck } from './checks/stuck.js';
import { Condition, round, worse, type AlertUpdate, type Finding, type See } from './condition.js';
import type { AnomalyEvent, AnomalyKind } from './events.js';
import {
  CELL_AVERAGES,
  cellSides,
  DEVICE_SILENCE_MS,
  FAST_RISE,
  HEARTBEAT_SIGNALS,
  LIMIT_RULES,
  MERGE_GAP_MS,
  PACK_WIDE,
  ruleLimits,
  watchForStuck,
} from './rules.js';

export type { AlertStatus, AlertUpdate } from './condition.js';

export interface StreamingDetectorOptions {
  deviceId: string;
  /** The device's measured signal periods (`dataset.device(id).signals`): the offline limit follows them. */
  signals?: readonly SignalInfo[];
  /**
   * A condition clear for longer than this closes its event (default: `MERGE_GAP_MS`).
   * Unseen (no reading of its signal), it closes once that reading has also gone stale
   * (`signals`' `staleAfterMs`): a cell logged every 10 min is not clear between its readings.
   */
  gapMs?: number;
}

/**
 * The one detector behind both the batch scan (`analytics.anomalies`) and the live alerts: fed a
 * device's raw readings in time order, it reports each event when it opens, escalates and
 * closes. Each check keeps O(1) or a small fixed window of state, so a reading costs about a
 * microsecond.
 */
export interface StreamingDetector {
  /** One raw reading of any signal, in time order across the device's signals. */
  pushReading(signal: string, t: number, v: number): AlertUpdate[];
  /** The same for one signal, resolved once: its readings go straight to its checks, updates into `out`. */
  inputOf(signal: string): (t: number, v: number, out: AlertUpdate[]) => void;
  /** End of stream: closes every open event. */
  close(): AlertUpdate[];
  /** Events open now. */
  openEvents(): AnomalyEvent[];
}

/** The current signals that say whether the cabinet is dispatching, in order of preference. */
const CURRENT_SIGNALS = ['bms1_c', 'pcs1_dcc'];
const SPIKE_SIGNAL = 'bms1_c';
const EXPIRY_CHECK_MS = 10_000;
/** The cells' period taken at least (the catalogue's slowest, 10 min): their files' own, when longer, replaces it. */
const DEFAULT_CELL_PERIOD_MS = 10 * 60_000;

/**
 * The checks of one signal. Checks of the same kind share one condition (a current past its
 * limit and a current spiking off its level are one spike event).
 */
class SignalWatch {
  private readonly conditions: Condition[] = [];
  private readonly sees: See[] = [];
  private readonly slots: number[] = [];
  private readonly found: (Finding | null)[] = [];

  add(c: Condition, see: See): void {
    let slot = this.conditions.indexOf(c);
    if (slot < 0) slot = this.conditions.push(c) - 1;
    this.sees.push(see);
    this.slots.push(slot);
    this.found.push(null);
  }

  push(t: number, v: number, out: AlertUpdate[]): void {
    const { found, conditions, sees, slots } = this;
    for (let k = 0; k < conditions.length; k++) found[k] = null;
    for (let k = 0; k < sees.length; k++) {
      const f = sees[k]!(t, v);
      const slot = slots[k]!;
      if (f && (!found[slot] || worse(f, found[slot]))) found[slot] = f;
    }
    for (let k = 0; k < conditions.length; k++) {
      const c = conditions[k]!;
      // Clear and nothing pending: an update would change nothing (most readings of most signals).
      if (found[k] !== null || c.holding) c.update(t, found[k]!, out);
    }
  }
}

export function createStreamingDetector(options: StreamingDetectorOptions): StreamingDetector {
  const { deviceId } = options;
  const gapMs = options.gapMs ?? MERGE_GAP_MS;
  const opened = new Set<Condition>();
  const watches = new Map<string, SignalWatch>();
  const known = new Map((options.signals ?? []).map((s) => [s.signal, s]));
  const cellPeriods = (options.signals ?? [])
    .filter((s) => parseCellSignal(s.signal))
    .map((s) => s.medianPeriodMs ?? 0);
  const state = new DeviceState(
    CURRENT_SIGNALS,
    Object.values(CELL_VS_PACK).map((q) => q.reference),
    Math.max(DEFAULT_CELL_PERIOD_MS, ...cellPeriods),
  );
  const conditions = new Map<string, Condition>();
  const condition = (kind: AnomalyKind, signals: string[], minDurationMs = 0) => {
    const key = `${kind}|${signals.join(',')}`;
    let c = conditions.get(key);
    const unseenMs = Math.max(gapMs, ...signals.map((s) => known.get(s)?.staleAfterMs ?? 0));
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
  const packs = new Map<string, PackCells>();
  const packOf = (pack: number, quantity: 'voltage' | 'temperature') => {
    const key = `${quantity}${pack}`;
    let p = packs.get(key);
    if (!p) packs.set(key, (p = new PackCells(quantity, state)));
    return p;
  };
  const packWide = (kind: AnomalyKind): Condition | undefined => {
    for (const rule of LIMIT_RULES)
      for (const side of [rule.high, rule.low])
        if (side && PACK_WIDE[side] === kind) return condition(side, [rule.signal], rule.minDurationMs);
    return undefined;
  };

  const watchOf = (signal: string): SignalWatch => {
    let watch = watches.get(signal);
    if (watch) return watch;
    watch = new SignalWatch();
    for (const check of checksOf(signal)) {
      const c = condition(check.kind, [signal], check.minDurationMs?.(known.get(signal)));
      watch.add(c, check.see(c, { state, packWide, packOf, info: known.get(signal) }));
    }
    watches.set(signal, watch);
    return watch;
  };

  /**
   * Device-wide bookkeeping once per instant: events whose condition went unseen close, and a
   * heartbeat after a long silence reports the device offline (slow signals' readings do not
   * count: they keep coming from their own loggers' schedules).
   */
  let expiredAt = -Infinity;
  const advance = (t: number, heartbeat: boolean, out: AlertUpdate[]) => {
    // Tolerances are minutes long: checking them a few times a minute is enough.
    if (t - expiredAt >= EXPIRY_CHECK_MS && opened.size > 0) {
      expiredAt = t;
      for (const c of opened) c.expire(t, out);
    }
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
  const inputs = new Map<string, (t: number, v: number, out: AlertUpdate[]) => void>();
  const inputOf = (signal: string) => {
    let input = inputs.get(signal);
    if (input) return input;
    const watch = watchOf(signal);
    const heartbeat = HEARTBEAT_SIGNALS.includes(signal);
    const phase = phaseSignals.includes(signal);
    const record = state.recorder(signal);
    input = (t, v, out) => {
      if (!Number.isFinite(t) || !Number.isFinite(v)) return;
      advance(t, heartbeat, out);
      record?.(t, v);
      watch.push(t, v, out);
      if (phase) phases.reading(signal, t, v, out);
    };
    inputs.set(signal, input);
    return input;
  };
  return {
    pushReading(signal, t, v) {
      const out: AlertUpdate[] = [];
      inputOf(signal)(t, v, out);
      return out;
    },
    inputOf,
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
  state: DeviceState;
  /** The pack-wide condition that explains a single-cell kind (an empty pack, not a weak cell). */
  packWide(kind: AnomalyKind): Condition | undefined;
  packOf(pack: number, quantity: 'voltage' | 'temperature'): PackCells;
  /** The signal's measured period and staleness, when known. */
  info: SignalInfo | undefined;
}

/** One check on one signal's readings: the condition it feeds and how it judges a reading. */
interface SignalCheck {
  kind: AnomalyKind;
  minDurationMs?: (info: SignalInfo | undefined) => number | undefined;
  see(c: Condition, context: CheckContext): See;
}

/**
 * The checks the detector runs on a signal's readings: its catalogue limit rules, a cell's
 * absolute limits and its place in its pack, the current spike and fast-rise tests, and the
 * stuck-sensor test. The one list behind the detector's watches and `watchesSignal`. (The phases
 * are judged together, apart.)
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
          minDurationMs: () => rule.minDurationMs,
          see: (c, context) =>
            limitCheck(
              spec,
              limits,
              high,
              c,
              context.packWide(kind),
              rule.atRest ? (t) => context.state.atRest(t) : undefined,
              rule.pack ? standsApart(context.state.latestOf(CELL_AVERAGES.temperature), rule.pack) : undefined,
            ),
        });
    }
  }
  if (cell) {
    for (const { kind, high, minDurationMs, pack } of cellSides(cell.quantity))
      checks.push({
        kind,
        minDurationMs: () => minDurationMs,
        see: (c, context) =>
          limitCheck(
            spec,
            spec.limits ?? {},
            high,
            c,
            context.packWide(kind),
            undefined,
            pack ? standsApart(context.state.latestOf(CELL_AVERAGES.temperature), pack) : undefined,
          ),
      });
    // Out of line with its pack: the same condition as the limit on that side (how many readings
    // in a row it takes is the check's own, checks/cell-pack.ts).
    checks.push({
      kind: CELL_VS_PACK[cell.quantity].kind,
      see: (c, context) => context.packOf(cell.pack, cell.quantity).check(spec, cell.cell, c),
    });
  }
  if (signal === SPIKE_SIGNAL) checks.push({ kind: 'current_spike', see: () => spikeCheck(spec) });
  if (signal === FAST_RISE.signal)
    checks.push({ kind: 'fast_temp_rise', see: () => fastRiseCheck({ ...FAST_RISE, label: spec.label }) });
  if (watchForStuck(spec))
    checks.push({
      kind: 'sensor_stuck',
      see: (_c, context) =>
        stuckCheck(spec, context.state, Math.max(DEVICE_SILENCE_MS, context.info?.staleAfterMs ?? 0)),
    });
  return checks;
}

/** Whether the detector judges a signal's readings at all: one of its checks, a phase, or a reference others use. */
export function watchesSignal(signal: string): boolean {
  return (
    checksOf(signal).length > 0 ||
    (PHASE_IMBALANCE.signals as readonly string[]).includes(signal) ||
    CURRENT_SIGNALS.includes(signal)
  );
}
