// @bess/postgres-store: the files store's indexes mirrored into PostgreSQL (the ingest role), and
// the dataset interface served from there (the API role). See docs/postgres-store.md.
export { IndexMirror, type MirrorResult } from './mirror.js';
export { openPostgresDataset, PostgresDataset, SchemaMissingError, type PostgresDatasetOptions } from './pg-dataset.js';
export { migrate } from './schema.js';
export { isUnavailable, Sql, StoreUnavailableError } from './sql.js';
