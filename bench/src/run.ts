import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { generateDataset } from '@bess/core/generate';
import { ensureEvalSet, evalSets } from './eval-sets.js';
import { cabinetCsvFiles, datasetBytes } from './files.js';
import { machine, round, runStep } from './measure.js';

/**
 * `pnpm bench`: generates (or reuses) a benchmark dataset with the project's own
 * generator, then measures ingestion, restart, paging, history, the reference
 * parsers, analytics, fan-out, a soak, an attack, alarms and the dashboard's first chart, each step in its own process (`--skip`
 * leaves steps out). Results are merged into bench/results/<preset>.json.
 */
const benchDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: '1gb' },
    days: { type: 'string' },
    skip: { type: 'string', default: '' },
  },
});

/**
 * 1gb: the issue-2 bar (3 cabinets with cells, ~3 months). full: the 6 GB set (3 cabinets x ~21
 * months). postgres: the PostgreSQL store (ingest, disk, replica queries, cross-replica delivery)
 * on the 1gb set, against throwaway PostgreSQL and Redis servers.
 */
const PRESETS: Record<string, { days: number; start: string; data?: string }> = {
  '1gb': { days: 90, start: '2024-03-01' },
  full: { days: 640, start: '2023-09-01' },
  postgres: { days: 90, start: '2024-03-01', data: '1gb' },
};
const preset = PRESETS[values.preset];
if (!preset) throw new Error(`unknown preset ${values.preset}; one of ${Object.keys(PRESETS).join(', ')}`);
const days = values.days ? Number(values.days) : preset.days;
const skip = new Set(values.skip.split(',').filter(Boolean));

const root = join(benchDir, 'data', `${preset.data ?? values.preset}-${days}d`);
const indexDir = join(root, '.bess-index');
const results: Record<string, unknown> = { preset: values.preset, days, machine: machine() };
const FANOUT_RUNS = 3;

const outDir = join(benchDir, 'results');
mkdirSync(outDir, { recursive: true });
const outFile = join(outDir, `${values.preset}.json`);
const previous = existsSync(outFile) ? (JSON.parse(readFileSync(outFile, 'utf8')) as Record<string, unknown>) : {};

/**
 * Merges this run's results so far into bench/results/<preset>.json, after every step, so a step
 * that fails loses nothing measured before it. Steps not run keep their last results (each entry
 * records its own commit and machine).
 */
function save(): Record<string, unknown> {
  const steps = Object.keys(results).filter((k) => !['preset', 'days', 'machine'].includes(k));
  const merged: Record<string, unknown> = {
    ...previous,
    ...results,
    runs: { ...(previous.runs as object), ...Object.fromEntries(steps.map((k) => [k, results.machine])) },
  };
  writeFileSync(outFile, `${JSON.stringify(merged, null, 2)}\n`);
  return merged;
}

if (!existsSync(join(root, '.complete'))) {
  const started = performance.now();
  console.error(`generating ${root} (${days} days, 3 cabinets with per-cell files)`);
  await generateDataset({
    root,
    devices: 3,
    days,
    start: preset.start,
    seed: 2025,
    cells: true,
    dirt: false,
    faults: 'default',
  });
  writeFileSync(join(root, '.complete'), new Date().toISOString());
  results.generateSeconds = round((performance.now() - started) / 1000, 1);
}
results.dataset = datasetBytes(root);

if (values.preset === 'postgres') {
  if (!skip.has('pg-store')) {
    console.error("PostgreSQL store: plain COPY floor, ingest from CSV, bytes per reading, a fresh replica's queries");
    results.store = await runStep('pg-store', [root]);
    save();
  }
  if (!skip.has('pg-fanout')) {
    console.error('cross-replica delivery: 1 ingest, 2 API replicas, 1000 subscribers, 1 appended row/s per cabinet');
    results.crossReplica = await runStep('pg-fanout', ['1000', '30']);
    save();
  }
  console.log(JSON.stringify(save(), null, 2));
  process.exit(0);
}

// Both our indexer and DuckDB then read the CSVs from the page cache: the comparison is of
// parsing, not of whichever ran second finding the files already cached.
if (!skip.has('ingest') || !skip.has('duckdb')) {
  const started = performance.now();
  const buffer = Buffer.allocUnsafe(1 << 22);
  for (const file of cabinetCsvFiles(root)) {
    const fd = openSync(file, 'r');
    while (readSync(fd, buffer, 0, buffer.length, null) > 0);
    closeSync(fd);
  }
  console.error(`page cache warmed in ${round((performance.now() - started) / 1000, 1)} s`);
}
if (!skip.has('ingest')) {
  console.error('cold indexing (2 workers)');
  results.ingest = await runStep('ingest', [root, indexDir, '2']);
  save();
}
if (!skip.has('query')) {
  console.error('restart and queries');
  results.query = await runStep('query', [root, indexDir]);
  save();
}
if (!skip.has('duckdb')) {
  console.error('DuckDB read_csv on the same files');
  results.duckdb = await runStep('duckdb', [root]);
  save();
}
if (!skip.has('fastcsv')) {
  console.error('fast-csv alone (first 300 MB)');
  results.fastCsv = await runStep('fastcsv', [root, '300']);
  save();
}

if (!skip.has('analytics')) {
  console.error('anomaly detection and forecast quality (reference and varied families, tuning and held-out seeds)');
  const sets = evalSets(benchDir);
  for (const set of sets) await ensureEvalSet(set);
  results.analytics = await runStep('analytics', [JSON.stringify(sets)]);
  save();
}
if (!skip.has('fanout')) {
  // 5,000 subscribers at 1/s, alternately against the product and against the least a Node
  // process can do (floor-server.ts), same load generator: how much of the lateness is the
  // machine's and how much the product's. Several runs, as one run's p99 varies by tens of ms.
  const floorServer = fileURLToPath(new URL('./floor-server.js', import.meta.url));
  const runs: { product: FanoutResult[]; floor: FanoutResult[] } = { product: [], floor: [] };
  for (let i = 0; i < FANOUT_RUNS; i++) {
    console.error(
      `fan-out ${i + 1}/${FANOUT_RUNS}: 5000 WebSocket subscribers at 1 event/s, the product, then the floor`,
    );
    runs.product.push(await runStep('fanout', [root, '5000', '1', '30']));
    runs.floor.push(
      await runStep('fanout', [root, '5000', '1', '30'], [], { ...process.env, FANOUT_SERVER: floorServer }),
    );
  }
  console.error('fan-out: 500 WebSocket subscribers at 10 events/s');
  results.fanout = [runs.product[0], await runStep('fanout', [root, '500', '0.1', '30'])];
  results.fanout5000 = { runs: FANOUT_RUNS, product: fanoutSummary(runs.product), floor: fanoutSummary(runs.floor) };
  save();
}

if (!skip.has('soak')) {
  console.error('soak: 500 subscribers and a paging loop for 3 minutes');
  results.soak = await runStep('soak', [root, '500', '180']);
  save();
}

if (!skip.has('attack')) {
  // On the bundled sample: the attack measures the server's defences, not the data's size.
  console.error('attack: one valid key within its limits, 20 s per phase, /health probed every 20 ms');
  results.attack = await runStep('attack', [resolve(benchDir, '../data'), '20']);
  save();
}

if (!skip.has('alarms')) {
  // On the bundled sample: the latency is the notice path's and the alarm store's, not the data's size.
  console.error('alarms: 10 hot-cell episodes appended to a cabinet, then kill -9 and a restart');
  results.alarms = await runStep('alarms', [resolve(benchDir, '../data'), '10']);
  save();
}

if (!skip.has('dashboard')) {
  // On the bundled sample, in Chromium: the dashboard's first chart of Live and of History.
  console.error('dashboard: first chart of Live and History, a cold page then 9 warm ones each');
  results.dashboard = await runStep('first-chart', [resolve(benchDir, '../data'), '9']);
  save();
}

console.log(JSON.stringify(save(), null, 2));

interface FanoutResult {
  deliveredRatio: number;
  latenessMs: { p50: number; p99: number };
  serverCpu: number;
  loadGeneratorCpu: number;
}
/** Each run's delivery, p50 and p99 lateness and CPU, and the median p99. */
function fanoutSummary(runs: FanoutResult[]) {
  const p99 = runs.map((r) => r.latenessMs.p99);
  return {
    deliveredRatio: runs.map((r) => r.deliveredRatio),
    latenessP50Ms: runs.map((r) => r.latenessMs.p50),
    latenessP99Ms: p99,
    medianP99Ms: [...p99].sort((a, b) => a - b)[Math.floor(p99.length / 2)],
    serverCpu: runs.map((r) => r.serverCpu),
    loadGeneratorCpu: runs.map((r) => r.loadGeneratorCpu),
  };
}
