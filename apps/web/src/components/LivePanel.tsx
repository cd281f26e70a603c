import type { RecordKind } from '@bess/core/catalog';
import { Fragment, useEffect, useMemo, useRef, useState } from 'react';
import { ago, formatDateTime } from '../lib/format';
import { advance, freshCursor, resumeInput, type StreamCursor } from '../lib/resume';
import { useStaged } from '../lib/staged';
import { liveTailInput } from '../lib/opening';
import { TimeWindow } from '../lib/time-window';
import { trpc } from '../trpc';
import { CHART_GROUPS, seriesOf } from './chartGroups';
import { ErrorState } from './States';
import { ChartPlaceholder, TimeChart } from './TimeChart';
import { TimeInput } from './TimeInput';

/** Both kinds' charts show the same span of time: the newest two hours, then what follows. */
const LIVE_SPAN_MS = 2 * 3_600_000;
const INTERVALS = [0.1, 0.5, 1, 2, 5];

type Point = { t: number } & Record<string, number | null>;

/** Live follows the newest data; replay plays the data from a chosen time at a chosen pace. */
type Mode = { mode: 'live' } | { mode: 'replay'; from?: number; interval: number };

function toPoint(record: { timestamp: string } & Record<string, unknown>): Point {
  const point: Point = { t: Date.parse(record.timestamp) };
  for (const [k, v] of Object.entries(record)) if (k !== 'timestamp') point[k] = typeof v === 'number' ? v : null;
  return point;
}

function useRecordStream(
  kind: RecordKind,
  deviceId: string,
  mode: Mode,
  lastEventId: string | undefined,
  paused: boolean,
  cursor: React.MutableRefObject<StreamCursor>,
) {
  // Twice the span shown: a grid's records can run an hour or more past the newest reading.
  const windowRef = useRef(new TimeWindow<Point>(2 * LIVE_SPAN_MS));
  const [points, setPoints] = useState<readonly Point[]>([]);
  const live = mode.mode === 'live';
  // Live opens on the newest records at once, from one page, before the stream brings what follows.
  // Taken in while rendering, so a page already fetched draws with its first render, not the next.
  const tail = useLiveTail(kind, deviceId, live);
  const [seeded, setSeeded] = useState<unknown>(null);
  if (live && tail.data && seeded !== tail.data) {
    setSeeded(tail.data);
    setPoints(windowRef.current.push(...tail.data.records.map(toPoint)));
  }
  const input = {
    deviceId,
    ...(live ? { live: true, interval: 1 } : { interval: mode.interval }),
    ...(!live && mode.from !== undefined ? { from: mode.from } : {}),
    ...(lastEventId ? { lastEventId } : {}),
  };
  const onData = (event: { id: string; data: { timestamp: string } }) => {
    cursor.current = advance(cursor.current, event.id);
    setPoints(windowRef.current.push(toPoint(event.data)));
  };
  // Live waits for the newest window, so the stream's first record lands after it.
  const options = { enabled: !paused && (!live || tail.isSuccess || tail.isError), onData };
  const sub =
    kind === 'bms' ? trpc.bms.stream.useSubscription(input, options) : trpc.pcs.stream.useSubscription(input, options);
  return {
    points,
    error: sub.error ?? tail.error,
    reset: () => {
      setSeeded(null);
      setPoints(windowRef.current.clear());
    },
  };
}

/** The newest page of a kind: asked for by the device view as it opens, so it arrives with the summary. */
export function useLiveTail(kind: RecordKind, deviceId: string, enabled: boolean) {
  const input = liveTailInput(deviceId);
  const options = { enabled, staleTime: Infinity };
  return kind === 'bms' ? trpc.bms.batch.useQuery(input, options) : trpc.pcs.batch.useQuery(input, options);
}

/** The charts of each kind, with their series: built once, so memoised charts see the same props. */
const LIVE_CHARTS = {
  bms: CHART_GROUPS.bms.map((g) => ({ title: g.title, ...seriesOf('bms', g.fields) })),
  pcs: CHART_GROUPS.pcs.map((g) => ({ title: g.title, ...seriesOf('pcs', g.fields) })),
};
const KINDS = [
  { kind: 'bms', title: 'Battery (BMS)' },
  { kind: 'pcs', title: 'Power conversion (PCS)' },
] as const;
const CHART_COUNT = LIVE_CHARTS.bms.length + LIVE_CHARTS.pcs.length;

/** "Latest reading <time>, 3 s ago", its own component so the once-a-second clock re-renders only it. */
function LatestReading({ newest, live }: { newest: number; live: boolean }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!live) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [live]);
  return (
    <span className="muted small" data-testid="latest-reading">
      {!Number.isFinite(newest)
        ? 'Waiting for data…'
        : live
          ? `Latest reading ${formatDateTime(newest)}, ${ago(new Date(newest).toISOString(), now)}`
          : `Replaying ${formatDateTime(newest)}`}
    </span>
  );
}

export function LivePanel({ deviceId, first, last }: { deviceId: string; first: string | null; last: string | null }) {
  const [mode, setMode] = useState<Mode>({ mode: 'live' });
  const [lastEventId, setLastEventId] = useState<string | undefined>();
  const [paused, setPaused] = useState(false);
  const bmsCursor = useRef(freshCursor());
  const pcsCursor = useRef(freshCursor());
  const bms = useRecordStream('bms', deviceId, mode, lastEventId, paused, bmsCursor);
  const pcs = useRecordStream('pcs', deviceId, mode, lastEventId, paused, pcsCursor);

  const restart = (next: Mode) => {
    bmsCursor.current = freshCursor();
    pcsCursor.current = freshCursor();
    bms.reset();
    pcs.reset();
    setLastEventId(undefined);
    setPaused(false);
    setMode(next);
  };
  const replay = (next: Partial<Extract<Mode, { mode: 'replay' }>>) =>
    restart({
      mode: 'replay',
      interval: mode.mode === 'replay' ? mode.interval : 1,
      ...(mode.mode === 'replay' && mode.from !== undefined ? { from: mode.from } : {}),
      ...next,
    });
  const togglePause = () => {
    if (paused) {
      const cursor = bmsCursor.current.received >= pcsCursor.current.received ? bmsCursor.current : pcsCursor.current;
      setLastEventId(resumeInput({}, cursor).lastEventId);
    }
    setPaused((p) => !p);
  };
  const bounds = useMemo(
    // Typed to the minute: the first reading's minute is inside.
    () => ({
      min: first ? Math.floor(Date.parse(first) / 60_000) * 60_000 : undefined,
      max: last ? Date.parse(last) : undefined,
    }),
    [first, last],
  );
  // A record grid runs on past a cabinet's last reading while its values count as fresh (for the
  // slowest signals, an hour or more): live ends its axes at the newest reading, which the device
  // summary (re-read every few seconds) names; replay at the newest record it has played.
  const newest =
    mode.mode === 'live' && last
      ? Date.parse(last)
      : Math.max(bms.points.at(-1)?.t ?? -Infinity, pcs.points.at(-1)?.t ?? -Infinity);
  const oldest = Math.min(bms.points[0]?.t ?? Infinity, pcs.points[0]?.t ?? Infinity);
  const staged = useStaged(bms.points.length > 0, CHART_COUNT);
  const domain = useMemo<[number, number] | undefined>(
    () =>
      Number.isFinite(newest)
        ? [Number.isFinite(oldest) ? Math.max(oldest, newest - LIVE_SPAN_MS) : newest - LIVE_SPAN_MS, newest]
        : undefined,
    [oldest, newest],
  );

  return (
    <div>
      <div className="controls" role="group" aria-label="Stream controls">
        <div className="segmented" role="radiogroup" aria-label="Mode">
          <label className="check">
            <input
              type="radio"
              name="live-mode"
              checked={mode.mode === 'live'}
              onChange={() => restart({ mode: 'live' })}
              data-testid="mode-live"
            />{' '}
            Live
          </label>
          <label className="check">
            <input
              type="radio"
              name="live-mode"
              checked={mode.mode === 'replay'}
              onChange={() => replay({})}
              data-testid="mode-replay"
            />{' '}
            Replay
          </label>
        </div>
        {mode.mode === 'replay' && (
          <>
            <label>
              Speed{' '}
              <select
                value={mode.interval}
                onChange={(e) => replay({ interval: Number(e.target.value) })}
                data-testid="interval"
              >
                {INTERVALS.map((i) => (
                  <option key={i} value={i}>
                    1 record / {i} s
                  </option>
                ))}
              </select>
            </label>
            <TimeInput
              label="From"
              value={mode.from}
              min={bounds.min}
              max={bounds.max}
              onChange={(from) => replay({ from })}
              testId="start-at"
            />
          </>
        )}
        <button type="button" onClick={togglePause} data-testid="pause">
          {paused ? '▶ Resume' : '❚❚ Pause'}
        </button>
        <LatestReading newest={newest} live={mode.mode === 'live'} />
      </div>
      {bms.error && <ErrorState error={bms.error} what="BMS stream" />}
      {pcs.error && <ErrorState error={pcs.error} what="PCS stream" />}
      {KINDS.map(({ kind, title }, k) => {
        // Charts are staged in order, BMS's first: this kind's start in that order.
        const offset = k === 0 ? 0 : LIVE_CHARTS.bms.length;
        const points = kind === 'bms' ? bms.points : pcs.points;
        return (
          <Fragment key={kind}>
            <h2>{title}</h2>
            <div className="grid" data-testid={`${kind}-charts`}>
              {LIVE_CHARTS[kind].map((c, i) =>
                offset + i < staged ? (
                  <TimeChart
                    key={c.title}
                    title={c.title}
                    unit={c.unit}
                    factor={c.factor}
                    fromZero={c.fromZero}
                    data={points}
                    series={c.series}
                    domain={domain}
                    syncId="live"
                  />
                ) : (
                  <ChartPlaceholder key={c.title} title={c.title} unit={c.unit} />
                ),
              )}
            </div>
          </Fragment>
        );
      })}
    </div>
  );
}
