import { useEffect, useMemo, useState } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { gridProps, timeAxisProps, tooltipProps, valueAxisProps } from './chartStyle';
import { colorAt } from './TimeChart';
import { Empty, ErrorState, Loading } from './States';
import { formatDateTime } from '../lib/format';
import { withGaps } from '../lib/gaps';
import { href, navigate, type TimeRange } from '../lib/route';
import { displayOf } from '../lib/units';
import { trpc } from '../trpc';

const DAY = 86_400_000;
const DEFAULT_SIGNAL = 'bms1_soc';
const MAX_POINTS = 600;
const SPANS = [
  { key: 'day', label: 'Last day', ms: DAY },
  { key: 'week', label: 'Last week', ms: 7 * DAY },
  { key: 'all', label: 'All', ms: Infinity },
] as const;

/**
 * One signal across every cabinet on one time axis (the mean of each bucket): which cabinet runs
 * hotter, charges later or drifts. The signal and range are in the URL.
 */
export function CompareView({ signal = DEFAULT_SIGNAL, range }: { signal?: string; range?: TimeRange }) {
  const devices = trpc.devices.list.useQuery();
  const first = trpc.devices.summary.useQuery(
    { deviceId: devices.data?.[0]?.id ?? '' },
    { enabled: !!devices.data?.length },
  );
  const newest = Math.max(...(devices.data ?? []).map((d) => (d.last ? Date.parse(d.last) : -Infinity)));
  const oldest = Math.min(...(devices.data ?? []).map((d) => (d.first ? Date.parse(d.first) : Infinity)));
  const [span, setSpan] = useState<TimeRange | null>(range ?? null);
  useEffect(() => {
    if (!span && Number.isFinite(newest)) setSpan({ from: Math.max(oldest, newest - DAY), to: newest });
  }, [span, newest, oldest]);
  useEffect(() => {
    if (span) navigate(href({ page: 'compare', signal, range: span }), range ? 'push' : 'replace');
  }, [signal, span?.from, span?.to]);
  // Back and forward: the URL's range becomes the view's again.
  useEffect(() => {
    if (range) setSpan((s) => (s && s.from === range.from && s.to === range.to ? s : range));
  }, [range?.from, range?.to]);

  const ids = (devices.data ?? []).filter((d) => d.hasBms || d.hasPcs).map((d) => d.id);
  const series = trpc.useQueries((t) =>
    span
      ? ids.map((deviceId) =>
          t.history.series({ deviceId, signals: [signal], from: span.from, to: span.to, maxPoints: MAX_POINTS }),
        )
      : [],
  );
  const spec = first.data?.signals.find((s) => s.signal === signal);
  const { factor, unit } = displayOf(signal, spec?.unit ?? '');
  const lines = useMemo(
    () =>
      ids.map((id, k) => {
        const s = series[k]?.data?.series[0];
        const points = s ? s.t.map((t, i) => ({ t, [id]: s.mean[i]! * factor })) : [];
        return { id, points: withGaps(points, [id]) };
      }),
    // The queries' data identities change only when their answers do.
    [ids.join(','), ...series.map((q) => q.data), factor],
  );

  if (devices.isLoading) return <Loading>Loading the fleet…</Loading>;
  if (devices.error) return <ErrorState error={devices.error} what="Fleet" />;
  if (!ids.length) return <Empty>No cabinets found in the data folder.</Empty>;
  const failed = series.find((q) => q.error)?.error;
  const groups = new Map<string, { signal: string; label: string }[]>();
  for (const s of first.data?.signals ?? [])
    if (s.subsystem !== 'cell') groups.set(s.subsystem, [...(groups.get(s.subsystem) ?? []), s]);

  return (
    <section>
      <h1>Compare cabinets</h1>
      <div className="controls" role="group" aria-label="Comparison">
        <label>
          Signal{' '}
          <select
            value={signal}
            data-testid="compare-signal"
            onChange={(e) =>
              navigate(href({ page: 'compare', signal: e.target.value, ...(span ? { range: span } : {}) }), 'push')
            }
          >
            {[...groups].map(([subsystem, options]) => (
              <optgroup key={subsystem} label={subsystem}>
                {options.map((o) => (
                  <option key={o.signal} value={o.signal}>
                    {o.label}
                  </option>
                ))}
              </optgroup>
            ))}
          </select>
        </label>
        {SPANS.map((s) => (
          <button
            key={s.key}
            type="button"
            data-testid={`compare-${s.key}`}
            onClick={() => setSpan({ from: s.ms === Infinity ? oldest : Math.max(oldest, newest - s.ms), to: newest })}
          >
            {s.label}
          </button>
        ))}
      </div>
      {span && (
        <p className="muted small" data-testid="compare-range">
          {formatDateTime(span.from)} – {formatDateTime(span.to)}: the mean of each of at most {MAX_POINTS} buckets.
        </p>
      )}
      {failed && <ErrorState error={failed} what="Comparison" />}
      {span && (
        <figure className="chart" data-testid="compare-chart" data-lines={lines.filter((l) => l.points.length).length}>
          <figcaption>
            {spec?.label ?? signal} <span className="muted">({unit})</span>
          </figcaption>
          <ResponsiveContainer width="100%" height={360}>
            <LineChart margin={{ top: 5, right: 28, bottom: 0, left: 0 }}>
              <CartesianGrid {...gridProps} />
              <XAxis {...timeAxisProps(span.from, span.to)} />
              <YAxis {...valueAxisProps} />
              <Tooltip {...tooltipProps} />
              <Legend wrapperStyle={{ fontSize: 12 }} />
              {lines.map((l, k) => (
                <Line
                  key={l.id}
                  data={l.points}
                  dataKey={l.id}
                  name={l.id}
                  type="linear"
                  stroke={colorAt(k)}
                  dot={false}
                  isAnimationActive={false}
                  connectNulls={false}
                  strokeWidth={1.5}
                />
              ))}
            </LineChart>
          </ResponsiveContainer>
        </figure>
      )}
    </section>
  );
}
