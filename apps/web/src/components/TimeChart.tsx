import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { gridProps, timeAxisProps, tooltipProps, valueAxisProps } from './chartStyle';
import { timeTick } from '../lib/format';

export interface SeriesSpec {
  key: string;
  label: string;
  color: string;
}

const COLORS = ['#2a9d8f', '#e76f51', '#264653', '#e9c46a', '#8a5cf6', '#f4a261'];
export const colorAt = (i: number): string => COLORS[i % COLORS.length]!;

/** A line chart over time with a unit on the Y axis: the building block of the live and history views. */
export function TimeChart({
  title,
  unit,
  data,
  series,
  height = 220,
}: {
  title: string;
  unit: string;
  data: Record<string, number | null>[];
  series: SeriesSpec[];
  height?: number;
}) {
  const first = data[0]?.t ?? 0;
  const last = data.at(-1)?.t ?? 0;
  const tick = timeTick((last ?? 0) - (first ?? 0));
  return (
    <figure className="chart" data-testid="chart" data-points={data.length} aria-label={title}>
      <figcaption>
        {title} <span className="muted">({unit})</span>
      </figcaption>
      <ResponsiveContainer width="100%" height={height}>
        <LineChart data={data} margin={{ top: 5, right: 12, bottom: 0, left: 0 }}>
          <CartesianGrid {...gridProps} />
          <XAxis {...timeAxisProps(tick)} />
          <YAxis
            {...valueAxisProps}
            label={{ value: unit, angle: -90, position: 'insideLeft', fill: 'var(--muted)', fontSize: 11 }}
          />
          <Tooltip {...tooltipProps} />
          {series.length > 1 && <Legend wrapperStyle={{ fontSize: 12 }} />}
          {series.map((s) => (
            <Line
              key={s.key}
              type="monotone"
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
}
