import { cellSnapshot, cellStats, openDataset, type RecordKind } from '@bess/core';
import { maxOf, peakRssMb, percentile, report, round, timed } from './measure.js';

/**
 * Step: restart with the index present, then query as the API would.
 * Args: root indexDir
 */
const [root, indexDir] = process.argv.slice(2) as [string, string];
const started = performance.now();
const dataset = await openDataset(root, { indexDir });
const devices = dataset.devices();
const first = devices[0]!;
await dataset.page(first.id, 'bms', { skip: 0, limit: 100 });
const firstPageMs = performance.now() - started;
// What the server does once it listens (main.ts): the queries below come after it.
const warmStarted = performance.now();
await dataset.warm();
const warmMs = performance.now() - warmStarted;

const kinds: RecordKind[] = ['bms', 'pcs'];
const totals = new Map(
  await Promise.all(
    kinds.map(async (kind) => [kind, (await dataset.page(first.id, kind, { skip: 0, limit: 1 })).total] as const),
  ),
);

// The first pages a restarted server builds run before V8 has optimised the paging code (it
// compiles hot functions in the background after some calls): measured on their own, over
// both kinds, all devices and the three offsets, so that the per-offset figures below are of
// the paging itself and not of whichever offset happened to be measured first.
let k = 0;
const firstPagesAfterRestart = await timed(async () => {
  const kind = kinds[k % 2]!;
  const total = totals.get(kind)!;
  const skip = [0, Math.floor(total / 2), Math.max(0, total - 100)][Math.floor(k / 2) % 3]!;
  await dataset.page(devices[k++ % devices.length]!.id, kind, { skip, limit: 100 });
}, 200);

const pages: Record<string, unknown> = {};
for (const kind of kinds) {
  const total = totals.get(kind)!;
  for (const [label, skip] of [
    ['start', 0],
    ['middle', Math.floor(total / 2)],
    ['end', Math.max(0, total - 100)],
  ] as const) {
    // Different devices and nearby offsets, so the block cache is not simply replaying one page.
    let n = 0;
    pages[`${kind}.${label}`] = await timed(async () => {
      const device = devices[n++ % devices.length]!;
      await dataset.page(device.id, kind, { skip: Math.max(0, skip - (n % 7) * 100), limit: 100 });
    }, 200);
  }
  pages[`${kind}.totalRecords`] = total;
}

const history: Record<string, unknown> = {};
const span = { from: first.first!, to: first.last! };
for (const [label, ms] of [
  ['day', 86_400_000],
  ['month', 30 * 86_400_000],
  ['all', span.to - span.from],
] as const) {
  let n = 0;
  history[label] = await timed(async () => {
    const device = devices[n++ % devices.length]!;
    const to = device.last!;
    await dataset.downsample(device.id, 'pcs1_ap', Math.max(device.first!, to - ms), to, 1000);
  }, 20);
}
// Cells: a snapshot reads all 520 cell indexes at one instant (one seek each); stats scan a month.
const cells: Record<string, unknown> = {};
const withCells = devices.filter((d) => d.hasCells);
if (withCells.length > 0) {
  let n = 0;
  cells.snapshot = await timed(async () => {
    const d = withCells[n++ % withCells.length]!;
    // a different instant each time, so the block cache is not simply replaying
    await cellSnapshot(dataset, d.id, d.first! + ((n * 7_919_000_000) % (d.last! - d.first!)));
  }, 30);
  const d = withCells[0]!;
  cells.monthStats = await timed(
    () => cellStats(dataset, d.id, d.last! - 30 * 86_400_000, d.last!, { maxPoints: 300 }),
    3,
  );
}
// The server re-checks every file for new rows every 2 s (BESS_WATCH_MS): how long one check
// holds the event loop (the longest gap of a 1 ms ticker while it runs), and how long it takes.
const refreshes: { ms: number; longestBlockMs: number }[] = [];
for (let i = 0; i < 10; i++) {
  let last = performance.now();
  let longest = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  await new Promise((r) => setTimeout(r, 20));
  longest = 0;
  last = performance.now();
  const started = performance.now();
  await dataset.refresh();
  const ms = performance.now() - started;
  await new Promise((r) => setTimeout(r, 5));
  clearInterval(ticker);
  refreshes.push({ ms, longestBlockMs: longest });
}
const refreshCheck = {
  files: devices.reduce((n, d) => n + d.signals.length, 0),
  ms: {
    p50: round(
      percentile(
        refreshes.map((r) => r.ms),
        50,
      ),
      1,
    ),
    max: round(maxOf(refreshes.map((r) => r.ms)), 1),
  },
  longestBlockMs: {
    p50: round(
      percentile(
        refreshes.map((r) => r.longestBlockMs),
        50,
      ),
      1,
    ),
    max: round(maxOf(refreshes.map((r) => r.longestBlockMs)), 1),
  },
};

await dataset.close();
report({
  firstPageMs: round(firstPageMs, 1),
  warmMs: round(warmMs, 1),
  firstPagesAfterRestart,
  pages,
  refreshCheck,
  history,
  cells,
  peakRssMb: peakRssMb(),
});
