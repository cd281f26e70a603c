export * from './catalog.js';
export * from './types.js';
export { openDataset, isoTime, type DatasetOptions } from './dataset.js';
export { DEVICE_ID, SIGNAL_NAME } from './ingest/discover.js';
export * from './cells/cells.js';
export * from './analytics/index.js';
export * from './generate/index.js';
