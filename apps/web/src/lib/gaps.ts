/**
 * Chart points with a break wherever the data has a gap: a point of nulls between two readings
 * further apart than `factor` times the series' usual spacing (its median step), so a line is
 * never drawn across an outage. Recharts leaves a null out and does not join its neighbours.
 */
export function withGaps<P extends { t: number }>(points: readonly P[], keys: readonly string[], factor = 3): P[] {
  if (points.length < 3) return [...points];
  const steps: number[] = [];
  for (let i = 1; i < points.length; i++) steps.push(points[i]!.t - points[i - 1]!.t);
  steps.sort((a, b) => a - b);
  const usual = steps[Math.floor(steps.length / 2)]!;
  if (!(usual > 0)) return [...points];
  const out: P[] = [points[0]!];
  for (let i = 1; i < points.length; i++) {
    const prev = points[i - 1]!;
    const next = points[i]!;
    if (next.t - prev.t > factor * usual) {
      const gap = { t: (prev.t + next.t) / 2 } as Record<string, unknown>;
      for (const key of keys) gap[key] = null;
      out.push(gap as P);
    }
    out.push(next);
  }
  return out;
}
