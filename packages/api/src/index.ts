export { appRouter, type AppRouter } from './root.js';
export { createBessServer, type BessServer, type ServerOptions } from './server.js';
export { ApiKeys } from './ops/auth.js';
export { CorsPolicy } from './ops/cors.js';
export { jsonLogger, type Logger } from './ops/log.js';
