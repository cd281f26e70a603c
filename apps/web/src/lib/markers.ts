/**
 * Which anomaly spans on a chart get a text label: the first of any that start
 * within `minGapShare` of the chart's span of a labelled one stays unlabelled
 * (still shaded), so labels of events close in time do not print over each other.
 * The alerts tab lists every event.
 */
export function labelledIds(
  markers: readonly { id: string; start: number }[],
  span: number,
  minGapShare = 0.12,
): Set<string> {
  const out = new Set<string>();
  let last = -Infinity;
  for (const m of [...markers].sort((a, b) => a.start - b.start)) {
    if (m.start - last < span * minGapShare) continue;
    out.add(m.id);
    last = m.start;
  }
  return out;
}
