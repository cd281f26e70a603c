import { formatDateTime } from '../lib/format';

/**
 * The look every time chart shares (time X axis, value Y axis, grid, tooltip),
 * spread into recharts' own components: Recharts reads its children's props,
 * so these stay props rather than wrapper components.
 */
export const gridProps = { strokeDasharray: '3 3', stroke: 'var(--grid)' };

export function timeAxisProps(tick: (t: number) => string) {
  return {
    dataKey: 't',
    type: 'number' as const,
    domain: ['dataMin', 'dataMax'] as [string, string],
    scale: 'time' as const,
    tickFormatter: tick,
    stroke: 'var(--muted)',
    fontSize: 11,
  };
}

export const valueAxisProps = {
  stroke: 'var(--muted)',
  fontSize: 11,
  width: 52,
  domain: ['auto', 'auto'] as [string, string],
};

export const tooltipProps = {
  labelFormatter: (t: unknown) => formatDateTime(Number(t)),
  contentStyle: { background: 'var(--panel)', border: '1px solid var(--border)' },
};
