import type { BessDataset } from '@bess/core';
import type { Label } from '@bess/core/evaluate';

const PHASES = ['pcs1_ia', 'pcs1_ib', 'pcs1_ic'];
/** A phase imbalance shows only while current flows: at least this share of the cabinet's peak phase current... */
const FLOWING_SHARE = 0.1;
/** ...for at least this long inside the label. */
const FLOWING_MS = 10 * 60_000;

/** A frozen sensor shows only where it should have moved: by at least this many of its logged steps. */
const STUCK_STEPS = 2;

/**
 * The labels a detector could see in the data. The fault plan puts a phase imbalance in the
 * cabinet's dispatch hours without knowing its SOC; where the pack was full or empty no current
 * flowed, and a phase 40 % high of 1 A is nothing. It freezes a sensor without knowing whether it
 * would have moved: a 1 °C coolant outlet held at 18 °C through a night it read 18 °C anyway shows
 * nothing. Such labels are scored apart (a stuck label without a recorded truth counts as seen).
 */
export async function observableLabels(
  dataset: BessDataset,
  labels: Label[],
): Promise<{ observable: Label[]; unobservable: Label[] }> {
  const observable: Label[] = [];
  const unobservable: Label[] = [];
  const peaks = new Map<string, number>();
  for (const label of labels) {
    if (label.kind === 'sensor_stuck' && label.truth) {
      const { min, max, resolution } = label.truth;
      // Half a step of slack: the logged values are decimal fractions in binary.
      (max - min >= (STUCK_STEPS - 0.5) * resolution ? observable : unobservable).push(label);
      continue;
    }
    if (label.kind !== 'phase_imbalance') {
      observable.push(label);
      continue;
    }
    let peak = peaks.get(label.device);
    if (peak === undefined) {
      peak = await peakPhaseCurrent(dataset, label.device);
      peaks.set(label.device, peak);
    }
    const flowingMs = await flowingTime(dataset, label, FLOWING_SHARE * peak);
    (flowingMs >= FLOWING_MS ? observable : unobservable).push(label);
  }
  return { observable, unobservable };
}

/** The 99th percentile of the largest phase current in 1,000 buckets over the device's span. */
async function peakPhaseCurrent(dataset: BessDataset, device: string): Promise<number> {
  const info = dataset.device(device);
  const maxima: number[] = [];
  for (const phase of PHASES) {
    const series = await dataset.downsample(device, phase, info.first!, info.last!, 1000);
    for (const m of series.max) maxima.push(Math.abs(m));
  }
  maxima.sort((a, b) => a - b);
  return maxima[Math.floor(0.99 * (maxima.length - 1))] ?? 0;
}

/** How long inside the label the largest phase current was at least `level` (each reading counts until the next). */
async function flowingTime(dataset: BessDataset, label: Label, level: number): Promise<number> {
  let total = 0;
  for (const phase of PHASES) {
    const { t, v } = await dataset.readSignal(label.device, phase, label.start, label.end, 1_000_000);
    let flowing = 0;
    for (let i = 0; i + 1 < t.length; i++) if (Math.abs(v[i]!) >= level) flowing += t[i + 1]! - t[i]!;
    total = Math.max(total, flowing);
  }
  return total;
}
