import { eventId, SEVERITY_RANK, type AnomalyEvent, type AnomalyKind, type Severity } from './events.js';

export type AlertStatus = 'opened' | 'escalated' | 'closed';

/** A change in an event's life: it opened, turned critical, or ended (then `event.end` is final). */
export interface AlertUpdate {
  status: AlertStatus;
  event: AnomalyEvent;
}

/** What a check saw at one reading: the condition holds, with its evidence. */
export interface Finding {
  severity: Severity;
  observed: number;
  threshold: number | [number, number];
  message: string;
  /** How far past the limit, in the bad direction (negative inside a hysteresis band): "worse" is larger. */
  beyond: number;
  /** When the condition began, when that is before this reading (a stuck run, a spike that has returned). */
  since?: number;
}

export const worse = (a: Finding, b: Finding): boolean =>
  SEVERITY_RANK[a.severity] > SEVERITY_RANK[b.severity] || (a.severity === b.severity && a.beyond > b.beyond);

/**
 * One condition's event life: pending until it has held `minDurationMs`, open until clear for
 * `gapMs` (or unseen for `unseenMs`), so a persisting condition is one event, not one per reading.
 */
export class Condition {
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
export type See = (t: number, v: number) => Finding | null;

export function round(x: number, digits = 3): number {
  return Number(x.toFixed(digits));
}
