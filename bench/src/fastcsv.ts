import { createReadStream, statSync } from 'node:fs';
import { parse } from 'fast-csv';
import { cabinetCsvFiles } from './files.js';
import { report, round } from './measure.js';

/**
 * Step: fast-csv alone (syntax only, plus Date.parse/Number per row) over the
 * first files until `limitMb` is read: the library's own speed. Args: root limitMb
 */
const [root, limitMb] = process.argv.slice(2) as [string, string];
let bytes = 0;
let rows = 0;
const started = performance.now();
for (const file of cabinetCsvFiles(root)) {
  if (bytes > Number(limitMb) * 1e6) break;
  bytes += statSync(file).size;
  const stream = createReadStream(file).pipe(parse({ headers: true }));
  for await (const row of stream as AsyncIterable<Record<string, string>>) {
    const values = Object.values(row);
    if (Number.isFinite(Date.parse(`${values[0]}Z`)) && Number.isFinite(Number(values[1]))) rows++;
  }
}
const seconds = (performance.now() - started) / 1000;
report({ bytes, rows, seconds: round(seconds), mbPerSecond: round(bytes / 1e6 / seconds, 1) });
