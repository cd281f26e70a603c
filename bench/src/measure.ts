import { execFileSync, spawn } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

/** The largest value; spreading a long array into Math.max overflows the call stack (a soak's 100,000+ latencies). */
export function maxOf(values: readonly number[]): number {
  let max = -Infinity;
  for (const v of values) if (v > max) max = v;
  return max;
}

/** `fn` run `runs` times one after another: p50, p99 and max of its durations (ms), to `digits` decimals. */
export async function timed(
  fn: () => Promise<unknown>,
  runs: number,
  digits = 3,
): Promise<{ p50: number; p99: number; max: number }> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  return {
    p50: round(percentile(samples, 50), digits),
    p99: round(percentile(samples, 99), digits),
    max: round(maxOf(samples), digits),
  };
}

/** Peak resident memory of this process so far (MB). */
export function peakRssMb(): number {
  return round(process.resourceUsage().maxRSS / 1024, 1);
}

export interface Machine {
  cores: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  commit: string;
  date: string;
}

export function machine(): Machine {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    // Measured with uncommitted changes to tracked files: the commit alone would not say what ran.
    if (
      execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', ':(top,exclude)bench/results'], {
        encoding: 'utf8',
      }).trim()
    )
      commit += '-dirty';
  } catch {
    // not a git checkout
  }
  return {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    commit,
    date: new Date().toISOString(),
  };
}

/**
 * Runs one benchmark step in a fresh Node process, so its peak RSS is its own,
 * and returns the JSON it prints as its last line.
 */
export function runStep<T>(
  script: string,
  args: string[],
  extraNodeArgs: string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): Promise<T> {
  const path = fileURLToPath(new URL(`./${script}.js`, import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...extraNodeArgs, path, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env,
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0) return reject(new Error(`${script} exited with ${code}: ${out.slice(-2000)}`));
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`${script} printed no JSON result: ${out.slice(-2000)}`));
      }
    });
  });
}

/** Prints a step's result as the last stdout line (read by runStep). */
export function report(result: unknown): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
