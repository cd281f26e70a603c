import { closeSync, createReadStream, openSync } from 'node:fs';
import { parse } from 'fast-csv';
import type { ReadingBuilder } from './readings.js';
import { isHeader } from './scanner.js';
import { completeLinesEnd } from './source-file.js';

/**
 * The reference reader: fast-csv does the CSV syntax (quoting, line ends), and
 * every field is then interpreted exactly as the scanner interprets it. Used for
 * files the scanner declines, and as the oracle of the differential tests.
 */
export async function readWithFastCsv(
  source: string | number,
  sink: ReadingBuilder,
  endByte: number,
  startByte = 0,
): Promise<void> {
  if (endByte <= startByte) return;
  const fd = typeof source === 'number' ? source : openSync(source, 'r');
  try {
    // Complete lines only: a last line without newline is still being written (as the scanner reads it).
    const complete = completeLinesEnd(fd, startByte, endByte);
    if (complete > startByte) await parseRange(fd, sink, startByte, complete);
    if (complete < endByte) sink.reject('truncated');
  } finally {
    if (typeof source !== 'number') closeSync(fd);
  }
}

async function parseRange(fd: number, sink: ReadingBuilder, startByte: number, endByte: number): Promise<void> {
  const input = createReadStream('', { fd, autoClose: false, start: startByte, end: endByte - 1 });
  let first = startByte === 0;
  const rows = input.pipe(parse<string[], string[]>({ headers: false, ignoreEmpty: false }));
  for await (const row of rows as AsyncIterable<string[]>) {
    if (first) {
      first = false;
      const head = encode(stripBom(row[0] ?? ''));
      if (row.length > 0 && isHeader(head, 0, head.length)) continue;
      addRow(sink, [stripBom(row[0] ?? ''), ...row.slice(1)]);
      continue;
    }
    addRow(sink, row);
  }
}

function addRow(sink: ReadingBuilder, row: string[]): void {
  // fast-csv yields [] for an empty line and [text] for a line without separator.
  if (row.length <= 1) {
    const field = encode(row[0] ?? '');
    sink.addUnsplitLine(field, 0, field.length);
    return;
  }
  if (row.length !== 2) {
    sink.reject('wrong_column_count');
    return;
  }
  const ts = encode(row[0]!);
  const value = encode(row[1]!);
  const joined = new Uint8Array(ts.length + value.length);
  joined.set(ts);
  joined.set(value, ts.length);
  sink.addFields(joined, 0, ts.length, ts.length, joined.length);
}

const encoder = new TextEncoder();
function encode(text: string): Uint8Array {
  return encoder.encode(text);
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
