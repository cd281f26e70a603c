import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { indexSignalFile, type IndexJob, type IndexOutcome } from './indexer.js';

/**
 * Runs indexing jobs on worker threads (parsing is CPU-bound; one file per
 * worker at a time keeps memory at a few files' worth). Under a TypeScript test
 * runner the worker script is not compiled, so jobs then run in-process.
 */
export class IndexPool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: { job: IndexJob; resolve: (o: IndexOutcome) => void; reject: (e: Error) => void }[] = [];
  private readonly pending = new Map<number, { resolve: (o: IndexOutcome) => void; reject: (e: Error) => void; worker: Worker }>();
  private nextId = 0;
  readonly inProcess: boolean;

  constructor(size = availableParallelism()) {
    const workerUrl = new URL('./index-worker.js', import.meta.url);
    this.inProcess = size <= 0 || import.meta.url.endsWith('.ts');
    if (this.inProcess) return;
    for (let i = 0; i < size; i++) {
      const worker = new Worker(workerUrl);
      worker.unref();
      worker.on('message', (m: { id: number; outcome?: IndexOutcome; error?: string }) => {
        const task = this.pending.get(m.id);
        if (!task) return;
        this.pending.delete(m.id);
        if (m.error !== undefined) task.reject(new Error(m.error));
        else task.resolve(m.outcome!);
        this.release(worker);
      });
      this.workers.push(worker);
      this.idle.push(worker);
    }
  }

  run(job: IndexJob): Promise<IndexOutcome> {
    if (this.inProcess) return indexSignalFile(job);
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop()!;
      const task = this.queue.shift()!;
      const id = this.nextId++;
      this.pending.set(id, { resolve: task.resolve, reject: task.reject, worker });
      worker.postMessage({ id, job: task.job });
    }
  }

  private release(worker: Worker): void {
    this.idle.push(worker);
    this.dispatch();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
