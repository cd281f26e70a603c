import type { RecordKind } from '@bess/core/catalog';
import { useMemo, useRef, useState } from 'react';
import { fromInputValue, toInputValue } from '../lib/format';
import { advance, freshCursor, resumeInput, type StreamCursor } from '../lib/resume';
import { SlidingWindow } from '../lib/window';
import { trpc } from '../trpc';
import { CHART_GROUPS, seriesOf } from './chartGroups';
import { ErrorState } from './States';
import { TimeChart } from './TimeChart';

/** Points kept per live chart: about ten minutes at the fastest replay, a fixed memory cost. */
const LIVE_WINDOW = 300;
const INTERVALS = [0.1, 0.5, 1, 2, 5];

type Point = Record<string, number | null>;

interface StreamSettings {
  interval: number;
  from?: number;
  live: boolean;
  /** Set when resuming after a pause: continue right after this event. */
  lastEventId?: string;
}

function useRecordStream(
  kind: RecordKind,
  deviceId: string,
  settings: StreamSettings,
  paused: boolean,
  cursor: React.MutableRefObject<StreamCursor>,
) {
  const windowRef = useRef(new SlidingWindow<Point>(LIVE_WINDOW));
  const [points, setPoints] = useState<readonly Point[]>([]);
  const input = {
    deviceId,
    interval: settings.interval,
    live: settings.live,
    ...(settings.from !== undefined ? { from: settings.from } : {}),
    ...(settings.lastEventId ? { lastEventId: settings.lastEventId } : {}),
  };
  const onData = (event: { id: string; data: Record<string, unknown> }) => {
    cursor.current = advance(cursor.current, event.id);
    const point: Point = { t: Date.parse(event.data.timestamp as string) };
    for (const [k, v] of Object.entries(event.data)) if (k !== 'timestamp') point[k] = v as number | null;
    setPoints(windowRef.current.push(point));
  };
  const options = { enabled: !paused, onData };
  const sub =
    kind === 'bms' ? trpc.bms.stream.useSubscription(input, options) : trpc.pcs.stream.useSubscription(input, options);
  return { points, error: sub.error, reset: () => setPoints(windowRef.current.clear()) };
}

export function LivePanel({ deviceId, first, last }: { deviceId: string; first: string | null; last: string | null }) {
  const [settings, setSettings] = useState<StreamSettings>({ interval: 1, live: false });
  const [paused, setPaused] = useState(false);
  const bmsCursor = useRef(freshCursor());
  const pcsCursor = useRef(freshCursor());
  const bms = useRecordStream('bms', deviceId, settings, paused, bmsCursor);
  const pcs = useRecordStream('pcs', deviceId, settings, paused, pcsCursor);

  const restart = (next: Partial<StreamSettings>) => {
    bmsCursor.current = freshCursor();
    pcsCursor.current = freshCursor();
    bms.reset();
    pcs.reset();
    setSettings((s) => ({
      interval: s.interval,
      live: s.live,
      ...(s.from !== undefined ? { from: s.from } : {}),
      ...next,
      lastEventId: undefined,
    }));
  };
  const togglePause = () => {
    if (paused)
      setSettings((s) =>
        resumeInput(
          { ...s },
          bmsCursor.current.received >= pcsCursor.current.received ? bmsCursor.current : pcsCursor.current,
        ),
      );
    setPaused((p) => !p);
  };
  const bounds = useMemo(
    () => ({
      min: first ? toInputValue(Date.parse(first)) : undefined,
      max: last ? toInputValue(Date.parse(last)) : undefined,
    }),
    [first, last],
  );

  return (
    <div>
      <div className="controls" role="group" aria-label="Stream controls">
        <label>
          Replay speed{' '}
          <select
            value={settings.interval}
            onChange={(e) => restart({ interval: Number(e.target.value) })}
            data-testid="interval"
          >
            {INTERVALS.map((i) => (
              <option key={i} value={i}>
                1 record / {i} s
              </option>
            ))}
          </select>
        </label>
        <label>
          Start at (UTC){' '}
          <input
            type="datetime-local"
            min={bounds.min}
            max={bounds.max}
            onChange={(e) => restart({ from: fromInputValue(e.target.value) })}
            data-testid="start-at"
          />
        </label>
        <label className="check">
          <input type="checkbox" checked={settings.live} onChange={(e) => restart({ live: e.target.checked })} /> Live
          (follow new data)
        </label>
        <button type="button" onClick={togglePause} data-testid="pause">
          {paused ? '▶ Resume' : '❚❚ Pause'}
        </button>
        <span className="muted small">Keeps the last {LIVE_WINDOW} records per chart.</span>
      </div>
      {bms.error && <ErrorState error={bms.error} what="BMS stream" />}
      {pcs.error && <ErrorState error={pcs.error} what="PCS stream" />}
      <h2>Battery (BMS)</h2>
      <div className="grid" data-testid="bms-charts">
        {CHART_GROUPS.bms.map((g) => {
          const { unit, series } = seriesOf('bms', g.fields);
          return <TimeChart key={g.title} title={g.title} unit={unit} data={bms.points as Point[]} series={series} />;
        })}
      </div>
      <h2>Power conversion (PCS)</h2>
      <div className="grid" data-testid="pcs-charts">
        {CHART_GROUPS.pcs.map((g) => {
          const { unit, series } = seriesOf('pcs', g.fields);
          return <TimeChart key={g.title} title={g.title} unit={unit} data={pcs.points as Point[]} series={series} />;
        })}
      </div>
    </div>
  );
}
