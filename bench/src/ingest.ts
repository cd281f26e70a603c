import { execFileSync } from 'node:child_process';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { openDataset } from '@bess/core';
import { peakRssMb, report, round } from './measure.js';
import { datasetBytes } from './files.js';

/** Step: cold indexing of a whole data root (into an empty index folder). Args: root indexDir workers */
const [root, indexDir, workers] = process.argv.slice(2) as [string, string, string];
// A previous index is moved aside and deleted after the clock stops, because deleting it
// first made the new one slower to create: ext4 without a journal (these machines) skips
// inodes freed in the last 60-300 s when it allocates one, at an inode-table lookup each,
// so 5,300 files created right after 5,300 were deleted cost a third of indexing's CPU
// (perf: find_inode_bit, recently_deleted, rwsem spinning). That cost is the deletion's.
const previous = `${indexDir}.previous-${process.pid}`;
if (existsSync(indexDir)) renameSync(indexDir, previous);
// Dirty pages of earlier steps are written out before the clock starts, not during.
execFileSync('sync');
const { bytes, files } = datasetBytes(root);
const started = performance.now();
const dataset = await openDataset(root, { indexDir, workers: Number(workers) });
const seconds = (performance.now() - started) / 1000;
const rows = dataset.devices().reduce((n, d) => n + d.signals.reduce((m, s) => m + s.rows, 0), 0);
await dataset.close();
rmSync(previous, { recursive: true, force: true });
report({
  files,
  bytes,
  rows,
  seconds: round(seconds),
  mbPerSecond: round(bytes / 1e6 / seconds, 1),
  peakRssMb: peakRssMb(),
});
