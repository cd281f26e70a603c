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
import { peakRssMb, report, round } from './measure.js';

/**
 * Step: anomaly detection, batch (`detectAnomalies`) and streaming (the live
 * alert feed replayed over each device's history: records and raw readings), scored against the labelled
 * faults of an evaluation set generated with a randomised fault plan; false alarms
 * on a clean set; day-ahead forecast backtests; detection cost.
 * Args: faultyRoot cleanRoot [setsJson]. Both sets come from seeds the tests never use.
 */
const [faultyRoot, cleanRoot, setsJson] = process.argv.slice(2) as [string, string, string | undefined];
const DAY = 86_400_000;

interface Scan {
  dataset: BessDataset;
  deviceDays: number;
  batch: AnomalyEvent[];
  batchSeconds: number;
  stream: AnomalyEvent[];
  streamRecords: number;
  /** Raw readings of the watched signals outside the records, fed alongside. */
  streamReadings: number;
  streamBusyUs: number;
  /** The longest grid step of any device's record streams: how far a live alert may trail its fault. */
  stepMs: number;
}

async function scan(root: string): Promise<Scan> {
  const dataset = await openDataset(root);
  const s: Scan = {
    dataset,
    deviceDays: 0,
    batch: [],
    batchSeconds: 0,
    stream: [],
    streamRecords: 0,
    streamReadings: 0,
    streamBusyUs: 0,
    stepMs: 0,
  };
  for (const d of dataset.devices()) {
    const started = performance.now();
    s.batch.push(...(await detectAnomalies(dataset, d.id)));
    s.batchSeconds += (performance.now() - started) / 1000;
    const replay = await replayAlerts(dataset, d.id);
    s.stream.push(...replay.events);
    s.streamRecords += replay.records;
    s.streamReadings += replay.readings;
    s.streamBusyUs += replay.busyMs * 1000;
    for (const kind of ['bms', 'pcs'] as const)
      if (kind === 'bms' ? d.hasBms : d.hasPcs) s.stepMs = Math.max(s.stepMs, dataset.defaultStepMs(d.id, kind));
    s.deviceDays += (d.last! - d.first!) / DAY;
  }
  return s;
}

const rounded = (list: KindScore[]) =>
  list.map((s) => ({ ...s, precision: round(s.precision), recall: round(s.recall), f1: round(s.f1) }));
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

const faulty = await scan(faultyRoot);
const labels = readLabels(faultyRoot);
const perKind = Object.fromEntries(FAULT_KINDS.map((k) => [k, labels.filter((l) => l.kind === k).length]));
// A live alert judges an aligned record stamped t, which shows the last reading at or before t: it may trail the fault by a grid step.
const streamTolerance = faulty.stepMs;
const batch = rounded(scoreDetection(faulty.batch, labels, FAULT_KINDS));
const streaming = rounded(scoreDetection(faulty.stream, labels, FAULT_KINDS, streamTolerance));
// Pack-relative cell outliers (batch only: they need the per-cell files) should point at the injected weak and hot cells.
const cellFaults = labels
  .filter((l) => l.kind === 'weak_cell_voltage' || l.kind === 'cell_overtemp')
  .map((l) => ({ ...l, kind: 'cell_outlier' }));
const cellOutliers = rounded(scoreDetection(faulty.batch, cellFaults, ['cell_outlier']))[0];

const clean = await scan(cleanRoot);

// Day-ahead backtests on the first device of the clean set: the evaluation set has a fault on most days.
const device = faulty.dataset.devices()[0]!;
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
const month = performance.now();
await detectAnomalies(faulty.dataset, device.id, { from: device.first!, to: device.first! + 30 * DAY });
const monthSeconds = (performance.now() - month) / 1000;

report({
  sets: setsJson ? (JSON.parse(setsJson) as unknown) : undefined,
  faultySet: {
    deviceDays: round(faulty.deviceDays, 1),
    labels: labels.length,
    labelsPerKind: perKind,
    batchEvents: faulty.batch.length,
    streamingEvents: faulty.stream.length,
    streamingToleranceMs: streamTolerance,
  },
  // The labels each detector missed and its events of labelled kinds that match no label (the first 20 of each).
  batch: {
    scores: batch,
    cellOutliers,
    missed: missed(faulty.batch, labels, 0).slice(0, 20),
    unmatched: unmatched(faulty.batch, labels, 0).slice(0, 20),
  },
  streaming: {
    scores: streaming,
    missed: missed(faulty.stream, labels, streamTolerance).slice(0, 20),
    unmatched: unmatched(faulty.stream, labels, streamTolerance).slice(0, 20),
  },
  cleanSet: {
    deviceDays: round(clean.deviceDays, 1),
    batch: alarms(clean.batch, clean.deviceDays),
    streaming: alarms(clean.stream, clean.deviceDays),
  },
  backtests: { set: 'clean', device: forecastDevice.id, ...backtests },
  cost: {
    streamingRecords: faulty.streamRecords + clean.streamRecords,
    streamingReadings: faulty.streamReadings + clean.streamReadings,
    // Detector busy time per item fed (an aligned record or a raw reading).
    streamingMicrosecondsPerItem: round(
      (faulty.streamBusyUs + clean.streamBusyUs) /
        (faulty.streamRecords + faulty.streamReadings + clean.streamRecords + clean.streamReadings),
      2,
    ),
    batchScanSecondsPerDeviceDay: round(
      (faulty.batchSeconds + clean.batchSeconds) / (faulty.deviceDays + clean.deviceDays),
      3,
    ),
    deviceMonthScanSeconds: round(monthSeconds, 2),
  },
  peakRssMb: peakRssMb(),
});
await faulty.dataset.close();
await clean.dataset.close();
