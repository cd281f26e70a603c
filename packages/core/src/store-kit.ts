// What another store needs to serve the dataset interface exactly as the files store does: the
// shared queries over row sources, the index's page layout and row codec, and device descriptions.
export { bucketWidth } from './align/downsample.js';
export { ReaderDataset, RowsNotReadyError, WARM_ROWS, type RowNeed, type StoredDevice } from './dataset-base.js';
export type { SignalReader } from './index-format/index.js';
export { deviceInfo, type DescribedMeta } from './dataset-state.js';
export {
  BLOCK_ROWS,
  decodeRows,
  lastAtOrBefore,
  rowBytes,
  summarize,
  SUMMARY_FIELDS,
  SUMMARY_ROWS,
  writeSmallest,
  type RowFormat,
  type RowSink,
  type RowSource,
  type RowSourceMeta,
} from './index-format/index.js';
export { Lru } from './lru.js';
