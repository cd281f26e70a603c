import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomFaultPlan } from '@bess/core/evaluate';
import { cabinetProfiles, DEFAULT_DEVICE_IDS, generateDataset } from '@bess/core/generate';

/**
 * The anomaly evaluation's labelled sets, each a faulty set (randomised fault plan) and a clean
 * one. `reference`: the fleet the project was built on. `varied-tuning`: the varied family's
 * seeds the detectors' thresholds were chosen on. `varied-held-out`: the varied family on seeds
 * nobody looked at while tuning, scored once at 8ab66c8 (its false-alarm classes were then seen);
 * `varied-held-out-2`: seeds first scored at 51b2a01, whose misses were then looked at (2026-12-02);
 * `varied-held-out-3`: seeds first scored at 914a846, whose stuck-sensor misses and false alarms
 * were then looked at (2026-12-02); `varied-held-out-4`: seeds first scored at 7f8dcfb, whose
 * weak-cell false alarms were then looked at; `varied-held-out-5`: seeds first scored at 7f6bc8b,
 * whose SOC false alarms were then looked at; `varied-held-out-6`: seeds first scored at acce71c,
 * whose stuck-sensor misses were then looked at; `varied-held-out-7`: seeds first scored at f71cb49;
 * `varied-held-out-8`: seeds first scored at ea6ccb5, whose stuck misses were then seen by name;
 * `varied-held-out-9`: seeds first scored at 8b70780, whose spike misses and false alarms were then
 * looked at; `varied-held-out-10`: seeds first scored at 9cd6a80, whose hot-cell false alarms were
 * then looked at; `varied-held-out-11`: seeds first scored after the last detector change. Report only; add new
 * seeds once a set has been used to tune.
 */
export interface EvalSet {
  name: string;
  family: 'reference' | 'varied';
  faulty: { root: string; seed: number; planSeed: number; perKind: number; devices: number; days: number };
  clean: { root: string; seed: number; devices: number; days: number };
  warmUpDays: number;
  start: string;
}

export function evalSets(benchDir: string): EvalSet[] {
  const data = (name: string) => join(benchDir, 'data', name);
  const varied = (name: string, seed: number, planSeed: number, cleanSeed: number): EvalSet => ({
    name,
    family: 'varied',
    faulty: { root: data(`varied-${seed}-${planSeed}`), seed, planSeed, perKind: 3, devices: 6, days: 30 },
    clean: { root: data(`varied-clean-${cleanSeed}`), seed: cleanSeed, devices: 3, days: 30 },
    warmUpDays: 3,
    start: '2024-05-01',
  });
  return [
    {
      name: 'reference',
      family: 'reference',
      faulty: {
        root: data('eval-60d-random-5151-8087x5'),
        seed: 5151,
        planSeed: 8087,
        perKind: 5,
        devices: 3,
        days: 60,
      },
      clean: { root: data('clean-60d'), seed: 4242, devices: 3, days: 60 },
      warmUpDays: 8,
      start: '2024-06-01',
    },
    varied('varied-tuning', 111, 211, 102),
    varied('varied-held-out', 7301, 7302, 7303),
    varied('varied-held-out-2', 9401, 9402, 9403),
    varied('varied-held-out-3', 13501, 13502, 13503),
    varied('varied-held-out-4', 17601, 17602, 17603),
    varied('varied-held-out-5', 21701, 21702, 21703),
    varied('varied-held-out-6', 25801, 25802, 25803),
    varied('varied-held-out-7', 29901, 29902, 29903),
    varied('varied-held-out-8', 34001, 34002, 34003),
    varied('varied-held-out-9', 38101, 38102, 38103),
    varied('varied-held-out-10', 42201, 42202, 42203),
    varied('varied-held-out-11', 46301, 46302, 46303),
  ];
}

/** Generates a set's faulty and clean datasets unless already complete. */
export async function ensureEvalSet(set: EvalSet): Promise<void> {
  const ids = (n: number) => (set.family === 'reference' ? DEFAULT_DEVICE_IDS.slice(0, n) : n);
  const common = { start: set.start, cells: true, cellPeriodS: 600, dirt: true, family: set.family } as const;
  const f = set.faulty;
  if (!existsSync(join(f.root, '.complete'))) {
    const devices = ids(f.devices);
    const profiles = cabinetProfiles({ devices, seed: f.seed, family: set.family, days: f.days });
    const plan = randomFaultPlan(
      Object.keys(profiles),
      Date.parse(`${set.start}T00:00:00Z`),
      f.days,
      f.planSeed,
      f.perKind,
      {
        warmUpDays: set.warmUpDays,
        ...(set.family === 'varied' ? { profiles } : {}),
      },
    );
    await generateDataset({ ...common, root: f.root, devices, days: f.days, seed: f.seed, faults: plan });
    writeFileSync(join(f.root, '.complete'), '');
  }
  const c = set.clean;
  if (!existsSync(join(c.root, '.complete'))) {
    await generateDataset({
      ...common,
      root: c.root,
      devices: ids(c.devices),
      days: c.days,
      seed: c.seed,
      faults: 'none',
    });
    writeFileSync(join(c.root, '.complete'), '');
  }
}
