import { parentPort } from 'node:worker_threads';
import { indexSignalFile, type IndexJob } from './indexer.js';

// One indexing job at a time per worker thread; the pool hands out the next one.
parentPort!.on('message', (message: { id: number; job: IndexJob }) => {
  indexSignalFile(message.job).then(
    (outcome) => parentPort!.postMessage({ id: message.id, outcome }),
    (error: unknown) => parentPort!.postMessage({ id: message.id, error: String((error as Error)?.stack ?? error) }),
  );
});
