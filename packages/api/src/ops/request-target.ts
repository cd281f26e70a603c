/**
 * The one place a request-target becomes a URL. Every handler (HTTP, WebSocket upgrade, tRPC
 * context) reads the target through here, so a target that is not a valid URL is refused once,
 * as a 400, and never reaches code that would throw on it.
 */
const BASE = 'http://local';

/**
 * The parsed target, or null when it is not one this server answers: origin-form (`/path?q`) or
 * absolute-form (`http://host/path`, which proxies send; only its path and query are used).
 */
export function parseRequestTarget(raw: string | undefined): URL | null {
  if (!raw) return null;
  try {
    if (raw.startsWith('/')) {
      // Appended to the base rather than resolved against it, so `//host/x` stays a path.
      const url = new URL(BASE + raw);
      return url.origin === BASE ? url : null;
    }
    if (/^https?:\/\//i.test(raw)) {
      const absolute = new URL(raw);
      return new URL(BASE + absolute.pathname + absolute.search);
    }
    return null;
  } catch {
    return null;
  }
}

/** A percent-encoded path segment decoded, or null when its encoding is malformed (a lone `%`, overlong UTF-8). */
export function decodePathSegment(segment: string): string | null {
  try {
    const decoded = decodeURIComponent(segment);
    return decoded.includes('\0') ? null : decoded;
  } catch {
    return null;
  }
}

/** The target as it may be logged: the path only, without the query (which can carry `api_key`). */
export function loggablePath(raw: string | undefined): string {
  if (!raw) return '';
  const path = raw.split('?', 1)[0]!;
  return path.length > 200 ? `${path.slice(0, 200)}…` : path;
}
