import { detectAnomalies, openDataset, resample, type AnomalyEvent, type BessDataset } from '@bess/core';
import {
  backtest,
  matchesLabel,
  readLabels,
  replayAlerts,
  scoreDetection,
  type KindScore,
  type Label,
} from '@bess/core/evaluate';
import { FAULT_KINDS } from '@bess/core/generate';
import type { EvalSet } from './eval-sets.js';
import { observableLabels } from './observable.js';
import { peakRssMb, report, round } from './measure.js';

/** Kinds only the batch scan's slow trend checks report (live has no multi-day view). */
const TREND_KINDS = new Set(['thermal_drift', 'cell_drift']);

/**
 * Step: anomaly detection, batch (`detectAnomalies`) and live (the alert feed replayed over each
 * device's history), on every evaluation set (`eval-sets.ts`: the reference family, and the
 * varied family on tuning and on held-out seeds): P/R/F1 per fault kind against the labels,
 * false alarms per device-week on the clean sets, what was missed and why; day-ahead forecast
 * backtests; detection cost. Args: setsJson (the `EvalSet` list).
 */
const [setsJson] = process.argv.slice(2) as [string];
const sets = JSON.parse(setsJson) as EvalSet[];
const DAY = 86_400_000;
/** A live alert may trail its fault by up to a minute (a reading judged after the fault's last one). */
const TOLERANCE_MS = 60_000;

interface Scan {
  dataset: BessDataset;
  deviceDays: number;
  batch: AnomalyEvent[];
  batchSeconds: number;
  stream: AnomalyEvent[];
  streamReadings: number;
  streamBusyUs: number;
}

async function scan(root: string): Promise<Scan> {
  const dataset = await openDataset(root);
  const s: Scan = {
    dataset,
    deviceDays: 0,
    batch: [],
    batchSeconds: 0,
    stream: [],
    streamReadings: 0,
    streamBusyUs: 0,
  };
  for (const d of dataset.devices()) {
    const started = performance.now();
    s.batch.push(...(await detectAnomalies(dataset, d.id)));
    s.batchSeconds += (performance.now() - started) / 1000;
    const replay = await replayAlerts(dataset, d.id);
    s.stream.push(...replay.events);
    s.streamReadings += replay.readings;
    s.streamBusyUs += replay.busyMs * 1000;
    s.deviceDays += (d.last! - d.first!) / DAY;
  }
  return s;
}

const rounded = (list: KindScore[]) =>
  list.map((s) => ({ ...s, precision: round(s.precision), recall: round(s.recall), f1: round(s.f1) }));

/**
 * Scores per kind: recall over the labels the data could show (`observableLabels`), with the
 * recall over all labels beside it; precision over all labels (an event on an unobservable
 * label is not a false alarm).
 */
function scores(events: AnomalyEvent[], labels: Label[], observable: Label[]) {
  const all = scoreDetection(events, labels, FAULT_KINDS, TOLERANCE_MS);
  return scoreDetection(events, observable, FAULT_KINDS, TOLERANCE_MS).map((seen, k) => {
    const { precision, matchedEvents } = all[k]!;
    const f1 = precision + seen.recall ? (2 * precision * seen.recall) / (precision + seen.recall) : 0;
    return {
      ...rounded([{ ...seen, precision, matchedEvents, f1 }])[0]!,
      allLabels: all[k]!.labels,
      recallOverAllLabels: round(all[k]!.recall),
    };
  });
}
const missed = (events: AnomalyEvent[], labels: Label[], toleranceMs: number) =>
  labels
    .filter((l) => !events.some((e) => matchesLabel(e, l, toleranceMs)))
    .map((l) => ({
      device: l.device,
      kind: l.kind,
      start: new Date(l.start).toISOString(),
      end: new Date(l.end).toISOString(),
    }));
const unmatched = (events: AnomalyEvent[], labels: Label[], toleranceMs: number) =>
  events
    .filter((e) => (FAULT_KINDS as readonly string[]).includes(e.kind))
    .filter((e) => !labels.some((l) => matchesLabel(e, l, toleranceMs)))
    .map((e) => ({
      device: e.deviceId,
      kind: e.kind,
      signals: e.signals,
      start: new Date(e.start).toISOString(),
      end: new Date(e.end).toISOString(),
      message: e.message,
    }));

function alarms(events: AnomalyEvent[], deviceDays: number) {
  const raised = events.filter((e) => e.severity !== 'info');
  const byKind: Record<string, number> = {};
  for (const e of raised) byKind[e.kind] = (byKind[e.kind] ?? 0) + 1;
  return { falseAlarms: raised.length, perDeviceWeek: round((raised.length / deviceDays) * 7, 3), byKind };
}

/** Everything one set says: scores batch and live, false alarms on its clean half, cost. */
async function evaluate(set: EvalSet) {
  const faulty = await scan(set.faulty.root);
  const labels = readLabels(set.faulty.root);
  const { observable, unobservable } = await observableLabels(faulty.dataset, labels);
  const clean = await scan(set.clean.root);
  const result = {
    family: set.family,
    seeds: {
      faulty: set.faulty.seed,
      faultPlan: set.faulty.planSeed,
      clean: set.clean.seed,
      heldOut: set.name.includes('held-out'),
    },
    faultySet: {
      devices: set.faulty.devices,
      deviceDays: round(faulty.deviceDays, 1),
      labels: labels.length,
      labelsPerKind: Object.fromEntries(FAULT_KINDS.map((k) => [k, labels.filter((l) => l.kind === k).length])),
      // Phase imbalances placed where no current flowed: no detector can see them.
      unobservable: unobservable.map((l) => ({
        device: l.device,
        kind: l.kind,
        start: new Date(l.start).toISOString(),
        end: new Date(l.end).toISOString(),
      })),
    },
    batch: {
      scores: scores(faulty.batch, labels, observable),
      missed: missed(faulty.batch, observable, TOLERANCE_MS).slice(0, 20),
      unmatched: unmatched(faulty.batch, labels, TOLERANCE_MS).slice(0, 20),
    },
    live: {
      scores: scores(faulty.stream, labels, observable),
      missed: missed(faulty.stream, observable, TOLERANCE_MS).slice(0, 20),
      unmatched: unmatched(faulty.stream, labels, TOLERANCE_MS).slice(0, 20),
    },
    // Live and batch feed one detector the same readings: their events should be the same list.
    liveEqualsBatch:
      JSON.stringify(faulty.stream) === JSON.stringify(faulty.batch.filter((e) => !TREND_KINDS.has(e.kind))),
    cleanSet: {
      devices: set.clean.devices,
      deviceDays: round(clean.deviceDays, 1),
      batch: alarms(clean.batch, clean.deviceDays),
      live: alarms(clean.stream, clean.deviceDays),
    },
    cost: {
      streamingMicrosecondsPerItem: round(
        (faulty.streamBusyUs + clean.streamBusyUs) / (faulty.streamReadings + clean.streamReadings),
        2,
      ),
      readingsPerDeviceDay: Math.round(
        (faulty.streamReadings + clean.streamReadings) / (faulty.deviceDays + clean.deviceDays),
      ),
      batchScanSecondsPerDeviceDay: round(
        (faulty.batchSeconds + clean.batchSeconds) / (faulty.deviceDays + clean.deviceDays),
        3,
      ),
    },
  };
  return { result, faulty, clean };
}

const bySet: Record<string, unknown> = {};
let reference: Awaited<ReturnType<typeof evaluate>> | null = null;
for (const set of sets) {
  const evaluated = await evaluate(set);
  bySet[set.name] = evaluated.result;
  if (set.family === 'reference' && !reference) reference = evaluated;
  else {
    await evaluated.faulty.dataset.close();
    await evaluated.clean.dataset.close();
  }
}
const { faulty, clean } = reference!;

// Day-ahead backtests on the first device of the clean set: the evaluation set has a fault on most days.
const backtests: Record<string, unknown> = {};
const forecastDevice = clean.dataset.devices()[0]!;
for (const signal of ['bms1_soc', 'bms1_cell_max_t', 'bms1_cell_ave_t', 'pcs1_ap']) {
  const raw = await clean.dataset.readSignal(
    forecastDevice.id,
    signal,
    forecastDevice.first!,
    forecastDevice.last!,
    10_000_000,
  );
  const { values } = resample(raw.t, raw.v, forecastDevice.first!, forecastDevice.last!);
  const r = backtest(values, 96, 14 * 96, 24);
  backtests[signal] = {
    origins: r.origins,
    modelMae: round(r.modelMae),
    seasonalNaiveMae: round(r.naiveMae),
    improvement: round(r.improvement),
    coverage80: round(r.coverage80),
  };
}

// A device-month scanned in full (the long-range cost).
const device = faulty.dataset.devices()[0]!;
const month = performance.now();
await detectAnomalies(faulty.dataset, device.id, { from: device.first!, to: device.first! + 30 * DAY });
const monthSeconds = (performance.now() - month) / 1000;

report({
  sets: bySet,
  backtests: { set: 'reference clean', device: forecastDevice.id, ...backtests },
  deviceMonthScanSeconds: round(monthSeconds, 2),
  peakRssMb: peakRssMb(),
});
await faulty.dataset.close();
await clean.dataset.close();
