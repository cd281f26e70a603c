import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { openDataset } from '@bess/core';
import { peakRssMb, report, round } from './measure.js';
import { datasetBytes } from './files.js';

/** Step: cold indexing of a whole data root (index removed first). Args: root indexDir workers */
const [root, indexDir, workers] = process.argv.slice(2) as [string, string, string];
rmSync(indexDir, { recursive: true, force: true });
// Let the file system finish freeing the old index (ext4 discards it in the background)
// before the clock starts: that work belongs to the deletion, not to indexing.
execFileSync('sync');
const { bytes, files } = datasetBytes(root);
const started = performance.now();
const dataset = await openDataset(root, { indexDir, workers: Number(workers) });
const seconds = (performance.now() - started) / 1000;
const rows = dataset.devices().reduce((n, d) => n + d.signals.reduce((m, s) => m + s.rows, 0), 0);
await dataset.close();
report({ files, bytes, rows, seconds: round(seconds), mbPerSecond: round(bytes / 1e6 / seconds, 1), peakRssMb: peakRssMb() });
