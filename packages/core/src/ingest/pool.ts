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
  private closing = false;
  inProcess: boolean;
  private crashes = 0;

  constructor(size = availableParallelism()) {
    const workerUrl = new URL('./index-worker.js', import.meta.url);
    this.inProcess = size <= 0 || import.meta.url.endsWith('.ts');
    if (this.inProcess) return;
    for (let i = 0; i < size; i++) this.spawn(workerUrl);
  }

  private spawn(workerUrl: URL): void {
    // No inherited node flags: a parent started with --cpu-prof or --input-type must not pass them on.
    // A worker's garbage is small and short-lived (its large buffers are reused): a 4 MB
    // young generation instead of V8's default keeps peak RSS on the 7.9 GB set about
    // 25 MB lower at the same speed.
    const worker = new Worker(workerUrl, { execArgv: [], resourceLimits: { maxYoungGenerationSizeMb: 4 } });
    worker.unref();
    worker.on('message', (m: { id: number; outcome?: IndexOutcome; error?: string }) => {
      const task = this.pending.get(m.id);
      if (!task) return;
      this.pending.delete(m.id);
      if (m.error !== undefined) task.reject(new Error(m.error));
      else task.resolve(m.outcome!);
      this.release(worker);
    });
    // A worker that dies (out of memory, a native fault) fails its job, not the pool: replace it.
    worker.on('error', (error) => this.replace(worker, workerUrl, error));
    worker.on('exit', (code) => {
      if (!this.closing) this.replace(worker, workerUrl, new Error(`index worker exited with code ${code}`));
    });
    this.workers.push(worker);
    this.idle.push(worker);
    this.dispatch();
  }

  private replace(worker: Worker, workerUrl: URL, error: Error): void {
    if (!this.workers.includes(worker)) return;
    this.workers.splice(this.workers.indexOf(worker), 1);
    const idleAt = this.idle.indexOf(worker);
    if (idleAt >= 0) this.idle.splice(idleAt, 1);
    for (const [id, task] of this.pending) {
      if (task.worker !== worker) continue;
      this.pending.delete(id);
      task.reject(error);
    }
    void worker.terminate();
    if (this.closing) return;
    // Workers that keep dying are not worth respawning: finish the queue in this thread.
    if (++this.crashes > 8) {
      this.inProcess = true;
      for (const task of this.queue.splice(0)) indexSignalFile(task.job).then(task.resolve, task.reject);
      return;
    }
    this.spawn(workerUrl);
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
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
