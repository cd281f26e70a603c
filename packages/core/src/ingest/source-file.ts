import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { NEWLINE } from './bytes.js';

/**
 * The one way a signal CSV is opened. Only a regular file inside a real cabinet folder is read:
 * a link (which could point outside the data folder), a named pipe (whose open or read would
 * block the indexer), a device or a socket is refused with NotRegularFileError. The file is
 * opened without following a link and without blocking, then checked through its descriptor,
 * so it cannot be swapped for something else between the check and the read.
 */
export class NotRegularFileError extends Error {
  constructor(
    readonly path: string,
    readonly found: string,
  ) {
    super(`${path} is ${found}, not a regular file: not read`);
    this.name = 'NotRegularFileError';
  }
}

export interface SourceFile {
  fd: number;
  stats: Stats;
}

export function openSourceFile(path: string): SourceFile {
  // The folder too: a cabinet folder replaced by a link must not lead outside the data folder.
  const folder = lstatSync(dirname(path));
  if (!folder.isDirectory()) throw new NotRegularFileError(dirname(path), kindOf(folder));
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw new NotRegularFileError(path, 'a symbolic link');
    throw error;
  }
  const stats = fstatSync(fd);
  if (!stats.isFile()) {
    closeSync(fd);
    throw new NotRegularFileError(path, kindOf(stats));
  }
  return { fd, stats };
}

/** Whether `path` is, right now, a regular file that is not a link (what discovery and notices accept). */
export function isRegularFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}

/** What a directory entry or a file's stat is, in words, when it is not a regular file. */
export function kindOf(
  st: Pick<Stats, 'isSymbolicLink' | 'isFIFO' | 'isDirectory' | 'isCharacterDevice' | 'isBlockDevice' | 'isSocket'>,
): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFIFO()) return 'a named pipe';
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

const TAIL_WINDOW = 64 * 1024;

/**
 * Where the complete lines of bytes [start, end) end: just after the last newline, or `start`
 * when there is none. What follows is a line still being written, read once its newline arrives.
 */
export function completeLinesEnd(fd: number, start: number, end: number): number {
  const buf = Buffer.allocUnsafe(TAIL_WINDOW);
  for (let to = end; to > start;) {
    const from = Math.max(start, to - TAIL_WINDOW);
    const n = readSync(fd, buf, 0, to - from, from);
    const nl = buf.subarray(0, n).lastIndexOf(NEWLINE);
    if (nl >= 0) return from + nl + 1;
    to = from;
  }
  return start;
}
