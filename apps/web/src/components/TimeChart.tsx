import { memo, useMemo } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { gridProps, timeAxisProps, tooltipProps, valueAxisProps } from './chartStyle';
import { withGaps } from '../lib/gaps';

export interface SeriesSpec {
  key: string;
  label: string;
  color: string;
}

const COLORS = ['#2a9d8f', '#e76f51', '#264653', '#e9c46a', '#8a5cf6', '#f4a261'];
export const colorAt = (i: number): string => COLORS[i % COLORS.length]!;

/** A chart's frame while its turn to be drawn comes (same size, so nothing moves when it does). */
export function ChartPlaceholder({ title, unit, height = 220 }: { title: string; unit: string; height?: number }) {
  return (
    <figure className="chart" aria-label={title} aria-busy="true">
      <figcaption>
        {title} <span className="muted">({unit})</span>
      </figcaption>
      <div style={{ height }} />
    </figure>
  );
}

/** A line chart over time with a unit on the Y axis: the building block of the live and history views. */
export const TimeChart = memo(function TimeChart({
  title,
  unit,
  data,
  series,
  domain,
  factor = 1,
  fromZero = false,
  height = 220,
  syncId,
}: {
  title: string;
  unit: string;
  data: readonly ({ t: number } & Record<string, number | null>)[];
  series: SeriesSpec[];
  /** The time span to show (epoch ms), shared by the charts of a view; default the data's. */
  domain?: [number, number];
  /** Logged value x factor = drawn value (see lib/units.ts). */
  factor?: number;
  /** The value axis starts at 0 (spreads). */
  fromZero?: boolean;
  height?: number;
  /** Charts with the same id share one crosshair, by time. */
  syncId?: string;
}) {
  const first = domain?.[0] ?? data[0]?.t ?? 0;
  const last = domain?.[1] ?? data.at(-1)?.t ?? 0;
  const keys = useMemo(() => series.map((s) => s.key), [series]);
  const drawn = useMemo(() => {
    const scaled =
      factor === 1
        ? data
        : data.map((p) => {
            const q: { t: number } & Record<string, number | null> = { t: p.t };
            for (const key of keys) q[key] = p[key] === null || p[key] === undefined ? null : p[key] * factor;
            return q;
          });
    return withGaps(scaled, keys);
  }, [data, keys, factor]);
  return (
    <figure
      className="chart"
      data-testid="chart"
      data-points={data.length}
      data-last={data.length ? new Date(data.at(-1)!.t).toISOString() : ''}
      data-last-value={String(data.at(-1)?.[series[0]?.key ?? ''] ?? '')}
      aria-label={title}
    >
      <figcaption>
        {title} <span className="muted">({unit})</span>
      </figcaption>
      <ResponsiveContainer width="100%" height={height}>
        <LineChart
          data={drawn}
          margin={{ top: 5, right: 28, bottom: 0, left: 0 }}
          {...(syncId ? { syncId, syncMethod: 'value' as const } : {})}
        >
          <CartesianGrid {...gridProps} />
          <XAxis {...timeAxisProps(first, last)} />
          <YAxis
            {...valueAxisProps}
            {...(fromZero ? { domain: [0, 'auto'] as [number, string] } : {})}
            label={{ value: unit, angle: -90, position: 'insideLeft', fill: 'var(--muted)', fontSize: 11 }}
          />
          <Tooltip {...tooltipProps} />
          {series.length > 1 && <Legend wrapperStyle={{ fontSize: 12 }} />}
          {series.map((s) => (
            <Line
              key={s.key}
              // Straight segments between readings: a smoothed curve invents values that were never logged.
              type="linear"
              dataKey={s.key}
              name={s.label}
              stroke={s.color}
              dot={false}
              isAnimationActive={false}
              connectNulls={false}
              strokeWidth={1.6}
            />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </figure>
  );
});
