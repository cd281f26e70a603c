import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { backtest, detectAnomalies, openDataset, RecordAlerts, resample, scoreDetection, type AnomalyEvent } from '@bess/core';
import { peakRssMb, report, round } from './measure.js';

/**
 * Step: anomaly detection scored against the generator's labelled faults, false
 * alarms on a clean set, day-ahead forecast backtests, and detection cost.
 * Args: faultyRoot cleanRoot. Both sets come from seeds the tests never use.
 */
const [faultyRoot, cleanRoot] = process.argv.slice(2) as [string, string];
const LABELLED = ['cell_overtemp', 'weak_cell_voltage', 'current_spike', 'sensor_stuck', 'phase_imbalance', 'offline_gap'];
const DAY = 86_400_000;

async function scan(root: string) {
  const dataset = await openDataset(root);
  const events: AnomalyEvent[] = [];
  let deviceDays = 0;
  let seconds = 0;
  for (const d of dataset.devices()) {
    const started = performance.now();
    events.push(...(await detectAnomalies(dataset, d.id)));
    seconds += (performance.now() - started) / 1000;
    deviceDays += (d.last! - d.first!) / DAY;
  }
  return { dataset, events, deviceDays, seconds };
}

const faulty = await scan(faultyRoot);
const labels = (JSON.parse(readFileSync(join(faultyRoot, 'faults.json'), 'utf8')) as { device: string; kind: string; start: string; end: string }[]).map((l) => ({
  device: l.device,
  kind: l.kind,
  start: Date.parse(l.start),
  end: Date.parse(l.end),
}));
const rounded = (list: ReturnType<typeof scoreDetection>) => list.map((s) => ({ ...s, precision: round(s.precision), recall: round(s.recall), f1: round(s.f1) }));
const scores = rounded(scoreDetection(faulty.events, labels, LABELLED));
// Pack-relative cell outliers should point at the same cells as the injected weak and hot cells.
const cellFaults = labels.filter((l) => l.kind === 'weak_cell_voltage' || l.kind === 'cell_overtemp').map((l) => ({ ...l, kind: 'cell_outlier' }));
const cellOutliers = rounded(scoreDetection(faulty.events, cellFaults, ['cell_outlier']))[0];

const clean = await scan(cleanRoot);
const falseAlarms = clean.events.filter((e) => e.severity !== 'info');
const byKind: Record<string, number> = {};
for (const e of falseAlarms) byKind[e.kind] = (byKind[e.kind] ?? 0) + 1;

// Day-ahead backtests on the first device of the faulty set (faults are rare enough not to dominate).
const device = faulty.dataset.devices()[0]!;
const backtests: Record<string, unknown> = {};
for (const signal of ['bms1_soc', 'bms1_cell_max_t', 'bms1_cell_ave_t', 'pcs1_ap']) {
  const raw = await faulty.dataset.readSignal(device.id, signal, device.first!, device.last!, 10_000_000);
  const { values } = resample(raw.t, raw.v, device.first!, device.last!);
  const r = backtest(values, 96, 14 * 96, 24);
  backtests[signal] = { origins: r.origins, modelMae: round(r.modelMae), seasonalNaiveMae: round(r.naiveMae), improvement: round(r.improvement), coverage80: round(r.coverage80) };
}

// Streaming cost: one aligned record through the live detector.
const page = await faulty.dataset.page(device.id, 'bms', { skip: 0, limit: 10_000 });
const alerts = new RecordAlerts(device.id, 'bms');
const started = performance.now();
for (let round = 0; round < 10; round++) for (const r of page.records) alerts.push(r);
const perRecordUs = ((performance.now() - started) * 1000) / (page.records.length * 10);

// A device-month scanned in full (the long-range cost).
const month = performance.now();
await detectAnomalies(faulty.dataset, device.id, { from: device.first!, to: device.first! + 30 * DAY });
const monthSeconds = (performance.now() - month) / 1000;

report({
  faultySet: { deviceDays: round(faulty.deviceDays, 1), labels: labels.length, events: faulty.events.length, scanSeconds: round(faulty.seconds, 1) },
  scores,
  cellOutliers,
  cleanSet: { deviceDays: round(clean.deviceDays, 1), falseAlarms: falseAlarms.length, perDeviceWeek: round((falseAlarms.length / clean.deviceDays) * 7, 3), byKind },
  backtests,
  cost: { streamingMicrosecondsPerRecord: round(perRecordUs, 2), deviceMonthScanSeconds: round(monthSeconds, 2) },
  peakRssMb: peakRssMb(),
});
await faulty.dataset.close();
await clean.dataset.close();
