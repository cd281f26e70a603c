// The on-disk index: its layout and row formats, the writer's primitives (used by ingest/)
// and the reader (used by align/ and the dataset). Everything outside this folder imports it from here.
export {
  appendIndex,
  BLOCK_ROWS,
  blockStartsOf,
  hashHead,
  headHash,
  INDEX_VERSION,
  indexPaths,
  readTrustedMeta,
  removeStaleTemporaries,
  sameSource,
  summarize,
  SUMMARY_FIELDS,
  SUMMARY_ROWS,
  writeIndex,
  type IndexMeta,
  type SourceStamp,
} from './index-files.js';
export { BlockCache, lastAtOrBefore, SignalReader } from './signal-reader.js';
export { decodeRows, rowBytes, writeSmallest, type RowFormat, type RowSink } from './row-format.js';
export type { RowSource, RowSourceMeta } from './row-source.js';
