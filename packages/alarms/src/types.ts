import type { AnomalyKind, Severity } from '@bess/core';

export type AlarmStatus = 'active' | 'cleared';

export interface Alarm {
  id: string;
  deviceId: string;
  kind: AnomalyKind;
  severity: Severity;
  /** The worst severity this episode reached. */
  highestSeverity: Severity;
  status: AlarmStatus;
  /** The signals (or cell files) the condition is on. */
  signals: string[];
  /** Data times (epoch ms): when the condition began and, once cleared, when it ended. */
  openedAt: number;
  clearedAt: number | null;
  /** Found while catching up on history at start-up: recorded, never notified. */
  historical: boolean;
  message: string;
  observed: number | null;
  threshold: number | [number, number] | null;
  /** Episodes of the same condition grouped into this alarm (it re-opened soon after clearing). */
  occurrences: number;
  acknowledged: boolean;
  acknowledgedBy: string | null;
  acknowledgedAt: number | null;
  ackComment: string | null;
  shelvedUntil: number | null;
  shelvedBy: string | null;
  /** Wall-clock time of the last change (epoch ms). */
  updatedAt: number;
}

export interface AlarmComment {
  id: string;
  author: string;
  body: string;
  at: number;
}

/** What happened to an alarm, as the change feed and the notifier see it. */
export type AlarmTrigger =
  'opened' | 'escalated' | 'repeated' | 'cleared' | 'acknowledged' | 'commented' | 'shelved' | 'reminder';

export interface AlarmChange {
  trigger: AlarmTrigger;
  alarm: Alarm;
  /** Who made the change: a key's name, or `detector`. */
  actor: string;
}

export interface AlarmFilter {
  status?: AlarmStatus;
  acknowledged?: boolean;
  /** Found while catching up on history (true) or live (false). */
  historical?: boolean;
  /** At least this severity. */
  severity?: Severity;
  kind?: string;
  deviceId?: string;
  /** Opened at or after / before (data time, epoch ms). */
  from?: number;
  to?: number;
}
