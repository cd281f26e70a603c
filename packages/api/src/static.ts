import { closeSync, constants, createReadStream, fstatSync, openSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

/**
 * Serves a regular file from `root` if the path names one inside it (never outside: the
 * normalised path must stay under root, and links are not followed). Returns false when there is none.
 */
export function serveFile(res: ServerResponse, root: string, pathname: string, cacheSeconds = 0): boolean {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return false;
  }
  if (decoded.includes('\0')) return false;
  const path = normalize(join(root, decoded));
  if (path !== root && !path.startsWith(root.endsWith(sep) ? root : root + sep)) return false;
  // Opened once, without following a link, and served from that descriptor: a file swapped or
  // deleted after the check cannot turn into another one, and a missing one is just a miss.
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return false;
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    return false;
  }
  res.writeHead(200, {
    'Content-Type': TYPES[extname(path)] ?? 'application/octet-stream',
    'Content-Length': st.size,
    'Cache-Control': cacheSeconds ? `public, max-age=${cacheSeconds}, immutable` : 'no-cache',
  });
  if (res.req.method === 'HEAD') {
    closeSync(fd);
    res.end();
    return true;
  }
  const stream = createReadStream('', { fd, autoClose: true });
  stream.on('error', () => res.destroy());
  res.on('close', () => stream.destroy());
  stream.pipe(res);
  return true;
}
