import { openDataset, type IndexedBessDataset } from '@bess/core';
import { IndexMirror } from '../mirror.js';
import { openPostgresDataset, type PostgresDataset } from '../pg-dataset.js';
import { migrate } from '../schema.js';
import { Sql } from '../sql.js';

/** A files store over `root`, mirrored into a fresh database at `url`, and the PostgreSQL store reading it. */
export async function bothStores(
  root: string,
  indexDir: string,
  url: string,
): Promise<{
  files: IndexedBessDataset;
  pg: PostgresDataset;
  mirror: IndexMirror;
  sql: Sql;
  close: () => Promise<void>;
}> {
  const files = await openDataset(root, { indexDir, workers: 2 });
  const sql = new Sql(url);
  await migrate(sql);
  const mirror = new IndexMirror(files, sql);
  await mirror.sync();
  const pg = await openPostgresDataset(url);
  return {
    files,
    pg,
    mirror,
    sql,
    async close() {
      await pg.close();
      await sql.close();
      await files.close();
    },
  };
}
