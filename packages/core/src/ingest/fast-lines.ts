import { readFileSync } from 'node:fs';
import { NEWLINE } from './bytes.js';
import { DateCache } from './fields.js';

/**
 * The scanner's fast path: the common line, `YYYY-MM-DD HH:MM:SS,-12.34\n`, is
 * parsed by a small WebAssembly module (assembly/fast-lines.ts, built into
 * dist/fast-lines.wasm) at 6-7 ns a line, where the same loop in JavaScript took
 * 14-18 ns and was 40 % of indexing. This side hands the module its lines (the
 * indexer reads chunks straight into its memory; other bytes are copied in), moves
 * the parsed rows out, and keeps each file's state between calls.
 */
interface FastLinesModule {
  memory: { buffer: ArrayBuffer };
  parse(start: number, lastNewline: number): number;
  FAST_MIN_LINE: Global;
  INPUT_BYTES: Global;
  reads: Global;
  input: Global;
  output: Global;
  lastTime: Global;
  disorder: Global;
  decimals: Global;
  taken: Global;
  h0: Global;
  h1: Global;
  h2: Global;
  h3: Global;
  hourBase: Global;
  dayKey: Global;
  dayBase: Global;
}

/** The module's globals that hold one file's day and hour between calls (see assembly/fast-lines.ts). */
const HELD = ['h0', 'h1', 'h2', 'h3', 'hourBase', 'dayKey', 'dayBase'] as const;

/** A global the module exports (Node's typings leave WebAssembly to the DOM library). */
interface Global {
  value: number;
}
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
};

/** The file being parsed: the module asks it for each new day's epoch ms. */
let current: FastRun | null = null;

// Next to the compiled JavaScript in dist/, and two levels up from src/ingest as well.
const wasmUrl = new URL('../../dist/fast-lines.wasm', import.meta.url);
const wasm = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(wasmUrl)), {
  env: { dayMs: (year: number, month: number, day: number) => current!.dayMs(year, month, day) },
}).exports as unknown as FastLinesModule;

/** The shortest line the fast path takes: a 19-byte timestamp, a comma, one digit, a newline. */
const FAST_MIN_LINE = wasm.FAST_MIN_LINE.value;

/**
 * The most readings `bytes` of CSV can hold: no line that becomes a reading is shorter than
 * FAST_MIN_LINE (the general parser also needs a 19-byte timestamp), and the last line may
 * lack its newline.
 */
export function mostReadings(bytes: number): number {
  return Math.ceil(bytes / FAST_MIN_LINE) + 1;
}

/** The HELD globals' values as the module starts: nothing held. */
const NOTHING_HELD = HELD.map((name) => wasm[name].value);
const INPUT_BYTES = wasm.INPUT_BYTES.value;
// The module's memory has a fixed size (it never grows), so these views stay valid.
const memory = wasm.memory.buffer;
const input = new Uint8Array(memory, wasm.input.value, INPUT_BYTES);
const output = new Float64Array(memory, wasm.output.value);
/**
 * The window copied in first, and the least: a file whose lines are all common
 * doubles it up to INPUT_BYTES; one with odd lines every few lines (where the
 * module stops and the general parser takes over) copies little more than it parses.
 */
const FIRST_WINDOW = 64 << 10;
const LEAST_WINDOW = 4 << 10;

/**
 * A buffer in the module's own memory for reading files into: lines read there
 * are parsed where they are, not copied. One per thread, so one reader at a time.
 */
export function readBuffer(): Buffer {
  return Buffer.from(memory, wasm.reads.value, INPUT_BYTES);
}

/** One file's fast-path state: where its readings go, what was counted, and the day and hour held. */
export class FastRun {
  rows: Float64Array = new Float64Array(0);
  length = 0;
  lastTime = -Infinity;
  /** Of the last `parseFastLines` call: readings added, readings not after the one before, most decimals of a value. */
  accepted = 0;
  disorder = 0;
  decimals = 0;
  /** What the module holds for this file between calls, in the order of HELD. */
  private readonly held = [...NOTHING_HELD];
  /** Bytes of the next window copied in. */
  private window = FIRST_WINDOW;
  private readonly dates = new DateCache();

  constructor(readonly offsetMs: number) {}

  /** Epoch ms of a zone-less midnight in this file's offset, or NaN for an impossible date. */
  dayMs(year: number, month: number, day: number): number {
    return this.dates.days(year, month, day) * 86_400_000 - this.offsetMs;
  }

  /** Parses lines at addresses [start, lastNewline] of the module's memory; returns the address it stopped at. */
  parse(start: number, lastNewline: number): number {
    wasm.disorder.value = 0;
    wasm.decimals.value = 0;
    const stopped = wasm.parse(start, lastNewline);
    const taken = wasm.taken.value;
    this.rows.set(output.subarray(0, taken * 2), this.length * 2);
    this.length += taken;
    this.accepted += taken;
    this.disorder += wasm.disorder.value;
    this.decimals = Math.max(this.decimals, wasm.decimals.value);
    return stopped;
  }

  /** Sizes the next window from how far the last one got (`whole`: all of it). */
  adapt(parsed: number, whole: boolean): void {
    this.window = whole
      ? Math.min(INPUT_BYTES, this.window * 2)
      : Math.max(LEAST_WINDOW, Math.min(INPUT_BYTES, parsed * 2));
  }

  get windowBytes(): number {
    return this.window;
  }

  /** Hands this file's state to the module before parsing... */
  enter(): void {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the wasm import reads the run being parsed
    current = this;
    wasm.lastTime.value = this.lastTime;
    HELD.forEach((name, i) => (wasm[name].value = this.held[i]!));
    this.accepted = 0;
    this.disorder = 0;
    this.decimals = 0;
  }

  /** ...and takes it back after. */
  leave(): void {
    current = null;
    this.lastTime = wasm.lastTime.value;
    HELD.forEach((name, i) => (this.held[i] = wasm[name].value));
  }
}

/**
 * Parses common lines of `buf` from `start` on, straight into `run.rows`, until a
 * line that is anything else (spaces, zones, exponents, dirt) or `lastNewline` is
 * passed; returns where it stopped. Every line up to `lastNewline` ends in a
 * newline, and `run.rows` has room for every line.
 */
export function parseFastLines(buf: Uint8Array, start: number, lastNewline: number, run: FastRun): number {
  run.enter();
  try {
    if (buf.buffer === memory) {
      // Read into `readBuffer()`: parsed where it is (never more than INPUT_BYTES).
      return run.parse(buf.byteOffset + start, buf.byteOffset + lastNewline) - buf.byteOffset;
    }
    while (start + FAST_MIN_LINE - 1 <= lastNewline) {
      // A window of whole lines: up to the last newline that fits.
      let end = lastNewline;
      if (end - start + 1 > run.windowBytes) {
        end = buf.lastIndexOf(NEWLINE, start + run.windowBytes - 1);
        // A line longer than the window: not a common line anyway.
        if (end < start) break;
      }
      input.set(buf.subarray(start, end + 1));
      const parsed = run.parse(input.byteOffset, input.byteOffset + end - start) - input.byteOffset;
      const whole = start + parsed > end;
      run.adapt(parsed, whole);
      start += parsed;
      if (!whole) break; // stopped at a line the general parser must read
    }
    return start;
  } finally {
    run.leave();
  }
}
