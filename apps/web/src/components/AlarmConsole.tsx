import type { AppRouter } from '@bess/api';
import type { inferRouterOutputs } from '@trpc/server';
import { useState } from 'react';
import { formatDateTime } from '../lib/format';
import { href, useUrlParam } from '../lib/route';
import { trpc } from '../trpc';
import { Empty, ErrorState, Loading } from './States';

type Severity = 'info' | 'warning' | 'critical';
const SEVERITIES: Severity[] = ['critical', 'warning', 'info'];
const PILL: Record<Severity, string> = { critical: 'alarm', warning: 'warning', info: 'ok' };
/** A shift: how long the console's shelve button silences an alarm's notifications. */
const SHELVE_MS = 8 * 3_600_000;

/** Keeps the alarm list and counts current: every change to any alarm refetches them. */
function useAlarmChanges(): void {
  const utils = trpc.useUtils();
  trpc.alarms.changes.useSubscription(
    {},
    {
      onData: () => {
        void utils.alarms.list.invalidate();
        void utils.alarms.summary.invalidate();
        void utils.alarms.get.invalidate();
      },
    },
  );
}

/** Active alarm counts by severity, fleet-wide (undefined while loading or when alarms are off). */
export function useActiveCounts(): Record<Severity, number> | undefined {
  const summary = trpc.alarms.summary.useQuery(undefined, { refetchInterval: 30_000, retry: false });
  if (!summary.data) return undefined;
  const counts: Record<Severity, number> = { critical: 0, warning: 0, info: 0 };
  for (const row of summary.data) counts[row.severity] += row.count;
  return counts;
}

/** The fleet's alarms, newest first: acknowledge and comment, with live updates. */
export function AlarmConsole() {
  const [status, setStatus] = useUrlParam<'active' | 'all'>(
    'status',
    (v) => (v === 'all' ? 'all' : 'active'),
    (s) => (s === 'all' ? 'all' : null),
  );
  const [unacknowledged, setUnacknowledged] = useUrlParam(
    'unacknowledged',
    (v) => v === '1',
    (u) => (u ? '1' : null),
  );
  const counts = useActiveCounts();
  useAlarmChanges();
  const list = trpc.alarms.list.useInfiniteQuery(
    {
      limit: 50,
      ...(status === 'active' ? { status: 'active' as const } : {}),
      ...(unacknowledged ? { acknowledged: false } : {}),
    },
    { getNextPageParam: (last) => last.nextCursor ?? undefined },
  );
  const items = list.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <section data-testid="alarm-console">
      <h1>Alarms</h1>
      <div className="alarm-counts" aria-label="Active alarms by severity">
        {SEVERITIES.map((s) => (
          <span key={s} className={`pill ${PILL[s]}`} data-testid={`count-${s}`}>
            {counts?.[s] ?? 0} {s}
          </span>
        ))}
      </div>
      <div className="controls">
        <label>
          Show{' '}
          <select
            value={status}
            onChange={(e) => setStatus(e.target.value as 'active' | 'all')}
            data-testid="alarm-status"
          >
            <option value="active">active</option>
            <option value="all">all, with history</option>
          </select>
        </label>
        <label>
          <input type="checkbox" checked={unacknowledged} onChange={(e) => setUnacknowledged(e.target.checked)} />{' '}
          unacknowledged only
        </label>
      </div>
      {list.isLoading ? (
        <Loading>Loading alarms…</Loading>
      ) : list.error ? (
        <ErrorState error={list.error} what="Alarms" />
      ) : items.length === 0 ? (
        <Empty>{status === 'active' ? 'No active alarms.' : 'No alarms recorded.'}</Empty>
      ) : (
        <ol className="alarm-list" data-testid="alarm-list">
          {items.map((a) => (
            <AlarmRow key={a.id} alarm={a} />
          ))}
        </ol>
      )}
      {list.hasNextPage && (
        <button type="button" onClick={() => void list.fetchNextPage()}>
          Older alarms
        </button>
      )}
    </section>
  );
}

type AlarmItem = inferRouterOutputs<AppRouter>['alarms']['list']['items'][number];

function AlarmRow({ alarm: a }: { alarm: AlarmItem }) {
  const [writing, setWriting] = useState<'acknowledge' | 'comment' | null>(null);
  const [text, setText] = useState('');
  const acknowledge = trpc.alarms.acknowledge.useMutation();
  const comment = trpc.alarms.comment.useMutation();
  const shelve = trpc.alarms.shelve.useMutation();
  const busy = acknowledge.isPending || comment.isPending || shelve.isPending;
  const error = acknowledge.error ?? comment.error ?? shelve.error;
  const shelved = a.shelvedUntil !== null && a.shelvedUntil > Date.now();
  const submit = async () => {
    if (writing === 'acknowledge') await acknowledge.mutateAsync({ id: a.id, comment: text });
    else if (writing === 'comment') await comment.mutateAsync({ id: a.id, body: text });
    setWriting(null);
    setText('');
  };
  return (
    <li className={`alarm-item sev-${a.severity}`} data-testid="alarm" data-alarm-id={a.id}>
      <div className="alarm-head">
        <span className={`pill ${PILL[a.severity]}`}>{a.severity}</span>
        <strong>{a.kind.replaceAll('_', ' ')}</strong>
        <a
          href={href({ page: 'device', deviceId: a.deviceId, tab: 'history', range: aroundAlarm(a) })}
          title="History around this alarm"
          data-testid="alarm-history-link"
        >
          {a.deviceId}
        </a>
        <span className="muted">{a.signals.join(', ')}</span>
        {a.occurrences > 1 && <span className="muted">×{a.occurrences}</span>}
        <span className="spacer" />
        <span className={a.status === 'active' ? 'alarm-active' : 'muted'}>
          {a.status}
          {a.historical ? ' (history)' : ''}
        </span>
      </div>
      <div className="small">{a.message}</div>
      <div className="small muted">
        Opened {formatDateTime(a.openedAt)}
        {a.clearedAt !== null && <> · cleared {formatDateTime(a.clearedAt)}</>}
      </div>
      <div className="small" data-testid="ack-state">
        {a.acknowledged ? (
          <>
            Acknowledged by {a.acknowledgedBy}
            {a.ackComment ? `: “${a.ackComment}”` : ''}
          </>
        ) : (
          <span className="muted">Not acknowledged</span>
        )}
      </div>
      {shelved && (
        <div className="small" data-testid="shelved-state">
          Shelved until {formatDateTime(a.shelvedUntil)} by {a.shelvedBy}: no notifications meanwhile
        </div>
      )}
      {writing ? (
        <form
          className="alarm-form"
          onSubmit={(e) => {
            e.preventDefault();
            void submit().catch(() => undefined);
          }}
        >
          <label className="sr-only" htmlFor={`text-${a.id}`}>
            {writing === 'acknowledge' ? 'Comment (optional)' : 'Comment'}
          </label>
          <input
            id={`text-${a.id}`}
            value={text}
            onChange={(e) => setText(e.target.value)}
            placeholder={writing === 'acknowledge' ? 'Comment (optional)' : 'Comment'}
            maxLength={2000}
            required={writing === 'comment'}
            data-testid="alarm-text"
          />
          <button type="submit" disabled={busy} data-testid="alarm-submit">
            {writing === 'acknowledge' ? 'Acknowledge' : 'Add comment'}
          </button>
          <button type="button" className="ghost" onClick={() => setWriting(null)}>
            Cancel
          </button>
        </form>
      ) : (
        <div className="alarm-actions">
          {!a.acknowledged && (
            <button type="button" onClick={() => setWriting('acknowledge')} data-testid="acknowledge">
              Acknowledge
            </button>
          )}
          <button type="button" className="ghost" onClick={() => setWriting('comment')}>
            Comment
          </button>
          <button
            type="button"
            className="ghost"
            disabled={busy}
            data-testid="shelve"
            onClick={() =>
              void shelve
                .mutateAsync({ id: a.id, until: shelved ? null : Date.now() + SHELVE_MS })
                .catch(() => undefined)
            }
          >
            {shelved ? 'Unshelve' : 'Shelve 8 h'}
          </button>
        </div>
      )}
      {error && (
        <div className="small alarm-error" role="alert">
          {error.data?.code === 'FORBIDDEN' ? 'Your key may only read alarms.' : error.message}
        </div>
      )}
    </li>
  );
}

/** History from an hour before the alarm opened to an hour after it cleared (or opened, while active). */
function aroundAlarm(a: AlarmItem): { from: number; to: number } {
  const HOUR = 3_600_000;
  return { from: a.openedAt - HOUR, to: (a.clearedAt ?? a.openedAt) + HOUR };
}
