import { createElement } from 'react';
import type { CartesianGridProps, XAxisTickContentProps } from 'recharts';
import { formatDateTime, timeTicks } from '../lib/format';

/**
 * The look every time chart shares (time X axis, value Y axis, grid, tooltip),
 * spread into recharts' own components: Recharts reads its children's props,
 * so these stay props rather than wrapper components.
 */
type GridAxis = Parameters<NonNullable<CartesianGridProps['verticalCoordinatesGenerator']>>[0]['xAxis'];

/** Grid lines where the axis has ticks: Recharts' default measures each label in the DOM to thin them out. */
function gridAt(axis: GridAxis): number[] {
  const ticks = axis?.ticks ?? axis?.niceTicks ?? [];
  return ticks.map((t) => axis?.scale?.map(t)).filter((c): c is number => Number.isFinite(c));
}

export const gridProps = {
  strokeDasharray: '3 3',
  stroke: 'var(--grid)',
  verticalCoordinatesGenerator: ({ xAxis }: { xAxis: GridAxis }) => gridAt(xAxis),
  horizontalCoordinatesGenerator: ({ yAxis }: { yAxis: GridAxis }) => gridAt(yAxis),
};

type TickProps = Pick<
  XAxisTickContentProps,
  'x' | 'y' | 'index' | 'payload' | 'textAnchor' | 'verticalAnchor' | 'fill' | 'className' | 'tickFormatter'
> & { fontSize?: number | string };

/** Where a label sits against its tick, as Recharts' own `Text` places it. */
const ANCHOR_DY: Record<string, string> = { start: '0.71em', middle: '0.355em', end: '0' };

/**
 * A tick label as one SVG text: Recharts' own `Text` measures each label's words in the DOM to
 * wrap them, and a tick label never wraps.
 */
function plainTick(props: TickProps) {
  const { x, y, index, payload, textAnchor, verticalAnchor, fill, fontSize, className, tickFormatter } = props;
  const text = tickFormatter ? tickFormatter(payload.value, index) : String(payload.value);
  const dy = ANCHOR_DY[verticalAnchor];
  return createElement('text', { x, y, dy, textAnchor, fill, fontSize, className }, text);
}

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
    tick: plainTick,
    stroke: 'var(--muted)',
    fontSize: 11,
  };
}

export const valueAxisProps = {
  stroke: 'var(--muted)',
  fontSize: 11,
  interval: 0,
  tick: plainTick,
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
