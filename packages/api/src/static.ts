import { createReadStream, statSync } from 'node:fs';
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
 * Serves a file from `root` if the path names one inside it (never outside:
 * the normalised path must stay under root). Returns false when there is none.
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
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st?.isFile()) return false;
  res.writeHead(200, {
    'Content-Type': TYPES[extname(path)] ?? 'application/octet-stream',
    'Content-Length': st.size,
    'Cache-Control': cacheSeconds ? `public, max-age=${cacheSeconds}, immutable` : 'no-cache',
  });
  createReadStream(path).pipe(res);
  return true;
}
