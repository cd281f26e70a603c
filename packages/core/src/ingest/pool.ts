import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { indexSignalFile, type IndexJob, type IndexOutcome } from './indexer.js';

/** How long workers wait without work before they exit (a steady server gives their memory back). */
const WORKER_IDLE_MS = 5_000;
/**
 * How long one file may take before its worker is given up on (a file on a hung network mount
 * blocks its read for ever): the job fails, is retried at the next refresh, and the others go on.
 * The full set's largest file takes under a second.
 */
const JOB_TIMEOUT_MS = 120_000;
/** Jobs handed to one worker at a time: the next is waiting when the current one ends. */
const JOBS_PER_WORKER = 2;

/**
 * Runs indexing jobs on worker threads (parsing is CPU-bound; one file per
 * worker at a time keeps memory at a few files' worth). Under a TypeScript test
 * runner the worker script is not compiled, so jobs then run in-process.
 *
 * Workers start with the first job and exit after `idleMs` without one: each holds
 * a V8 isolate and the parser's memory (about 20 MB of RSS), which a server whose
 * index is up to date does not need between live appends.
 */
export class IndexPool {
  private readonly workers: Worker[] = [];
  /** Jobs each running worker has been handed and not finished. */
  private readonly load = new Map<Worker, number>();
  private readonly queue: { job: IndexJob; resolve: (o: IndexOutcome) => void; reject: (e: Error) => void }[] = [];
  private readonly pending = new Map<
    number,
    { resolve: (o: IndexOutcome) => void; reject: (e: Error) => void; worker: Worker; timer: NodeJS.Timeout }
  >();
  private readonly workerUrl = new URL('./index-worker.js', import.meta.url);
  private nextId = 0;
  private closing = false;
  inProcess: boolean;
  private crashes = 0;
  private retireTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly size = availableParallelism(),
    private readonly idleMs = WORKER_IDLE_MS,
    private readonly jobTimeoutMs = JOB_TIMEOUT_MS,
  ) {
    this.inProcess = size <= 0 || import.meta.url.endsWith('.ts');
  }

  /** Worker threads running now (0 while idle). */
  get running(): number {
    return this.workers.length;
  }

  private spawn(): Worker {
    // No inherited node flags: a parent started with --cpu-prof or --input-type must not pass them on.
    // A worker's garbage is small and short-lived (its large buffers are reused): a 4 MB
    // young generation instead of V8's default keeps peak RSS on the 7.9 GB set about
    // 25 MB lower at the same speed.
    const worker = new Worker(this.workerUrl, { execArgv: [], resourceLimits: { maxYoungGenerationSizeMb: 4 } });
    worker.unref();
    worker.on('message', (m: { id: number; outcome?: IndexOutcome; error?: string }) => {
      const task = this.pending.get(m.id);
      if (!task) return;
      this.pending.delete(m.id);
      clearTimeout(task.timer);
      if (m.error !== undefined) task.reject(new Error(m.error));
      else task.resolve(m.outcome!);
      this.release(worker);
    });
    // A worker that dies (out of memory, a native fault) fails its job, not the pool: replace it.
    worker.on('error', (error) => this.replace(worker, error));
    worker.on('exit', (code) => {
      if (!this.closing) this.replace(worker, new Error(`index worker exited with code ${code}`));
    });
    this.workers.push(worker);
    this.load.set(worker, 0);
    return worker;
  }

  /** Drops a worker that failed; its job fails, and the queue goes on. */
  private replace(worker: Worker, error: Error, crashed = true): void {
    if (!this.workers.includes(worker)) return; // retired, or already replaced
    this.forget(worker);
    for (const [id, task] of this.pending) {
      if (task.worker !== worker) continue;
      this.pending.delete(id);
      clearTimeout(task.timer);
      task.reject(error);
    }
    void worker.terminate();
    if (this.closing) return;
    // A worker stuck on a file is no reason to index in this thread, where the same file would hang it.
    if (!crashed) return this.dispatch();
    // Workers that keep dying are not worth respawning: finish the queue in this thread.
    if (++this.crashes > 8) {
      this.inProcess = true;
      for (const task of this.queue.splice(0)) indexSignalFile(task.job).then(task.resolve, task.reject);
      return;
    }
    this.dispatch();
  }

  private forget(worker: Worker): void {
    this.workers.splice(this.workers.indexOf(worker), 1);
    this.load.delete(worker);
  }

  run(job: IndexJob): Promise<IndexOutcome> {
    if (this.inProcess) return indexSignalFile(job);
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    if (this.closing) return;
    while (this.queue.length > 0) {
      const worker = this.leastLoaded();
      if (!worker) break;
      const task = this.queue.shift()!;
      const id = this.nextId++;
      const timer = setTimeout(
        () =>
          this.replace(
            worker,
            new Error(`indexing ${task.job.csvPath} took over ${this.jobTimeoutMs} ms; its worker was replaced`),
            false,
          ),
        this.jobTimeoutMs,
      );
      timer.unref();
      this.pending.set(id, { resolve: task.resolve, reject: task.reject, worker, timer });
      this.load.set(worker, this.load.get(worker)! + 1);
      worker.postMessage({ id, job: task.job });
    }
    this.scheduleRetirement();
  }

  /**
   * The worker to hand the next job: an idle one, else a new one while under `size`, else one
   * with a single job. A worker with a second job waiting starts it as soon as it posts the
   * first's result, instead of idling through the round trip to this thread, which is busy
   * with the other workers' results: once per file, 1,773 times on the full set.
   */
  private leastLoaded(): Worker | null {
    let best: Worker | null = null;
    for (const worker of this.workers)
      if (best === null || this.load.get(worker)! < this.load.get(best)!) best = worker;
    if (best && this.load.get(best) === 0) return best;
    if (this.workers.length < this.size) return this.spawn();
    return best && this.load.get(best)! < JOBS_PER_WORKER ? best : null;
  }

  private release(worker: Worker): void {
    if (this.load.has(worker)) this.load.set(worker, this.load.get(worker)! - 1);
    this.dispatch();
  }

  /** While work is queued or running, workers stay; once all are idle, they exit after `idleMs`. */
  private scheduleRetirement(): void {
    if (this.retireTimer) clearTimeout(this.retireTimer);
    this.retireTimer = null;
    if (this.pending.size > 0 || this.queue.length > 0 || this.workers.length === 0) return;
    this.retireTimer = setTimeout(() => {
      this.retireTimer = null;
      for (const worker of [...this.workers]) {
        this.forget(worker);
        void worker.terminate();
      }
    }, this.idleMs);
    this.retireTimer.unref();
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.retireTimer) clearTimeout(this.retireTimer);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
