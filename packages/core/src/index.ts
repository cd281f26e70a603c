export * from './catalog.js';
export * from './types.js';
