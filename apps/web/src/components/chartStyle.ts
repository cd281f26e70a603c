import { formatDateTime, timeTicks } from '../lib/format';

/**
 * The look every time chart shares (time X axis, value Y axis, grid, tooltip),
 * spread into recharts' own components: Recharts reads its children's props,
 * so these stay props rather than wrapper components.
 */
export const gridProps = { strokeDasharray: '3 3', stroke: 'var(--grid)' };

/**
 * A time axis over [from, to]: our own ticks, every one drawn (interval 0), so Recharts has no
 * labels to measure in the DOM to thin them out, the slowest part of drawing a chart.
 */
export function timeAxisProps(from: number, to: number) {
  const { ticks, label } = timeTicks(from, to);
  return {
    dataKey: 't',
    type: 'number' as const,
    domain: [from, to] as [number, number],
    allowDataOverflow: true,
    scale: 'time' as const,
    ticks,
    interval: 0,
    tickFormatter: label,
    stroke: 'var(--muted)',
    fontSize: 11,
  };
}

export const valueAxisProps = {
  stroke: 'var(--muted)',
  fontSize: 11,
  interval: 0,
  width: 52,
  domain: ['auto', 'auto'] as [string, string],
};

/** A value as the tooltip shows it: at most 4 significant decimals, no float noise (42.73333333333333). */
function tooltipValue(value: unknown): string {
  if (typeof value === 'number') return String(Number(value.toPrecision(6)));
  if (Array.isArray(value)) return value.map(tooltipValue).join(' – ');
  return String(value);
}

export const tooltipProps = {
  labelFormatter: (t: unknown) => formatDateTime(Number(t)),
  formatter: (value: unknown) => tooltipValue(value),
  contentStyle: { background: 'var(--panel)', border: '1px solid var(--border)' },
};
