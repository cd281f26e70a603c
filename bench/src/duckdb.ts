import { DuckDBInstance } from '@duckdb/node-api';
import { cabinetCsvFiles, datasetBytes } from './files.js';
import { report, round } from './measure.js';

/**
 * Step: DuckDB's read_csv over the same files, parsing timestamps and values as
 * the engine does, with all cores. Args: root
 */
const [root] = process.argv.slice(2) as [string];
const files = cabinetCsvFiles(root);
const { bytes } = datasetBytes(root);
const db = await DuckDBInstance.create(':memory:');
const connection = await db.connect();
const list = files.map((f) => `'${f.replaceAll("'", "''")}'`).join(',');
const started = performance.now();
const result = await connection.runAndReadAll(
  `SELECT count(*) AS n, max(v) AS m FROM read_csv([${list}], header = true, columns = {'ts': 'TIMESTAMP', 'v': 'DOUBLE'}, ignore_errors = true, union_by_name = false)`,
);
const seconds = (performance.now() - started) / 1000;
const rows = Number(result.getRows()[0]![0]);
report({ files: files.length, bytes, rows, seconds: round(seconds), mbPerSecond: round(bytes / 1e6 / seconds, 1) });
