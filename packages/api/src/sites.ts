import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** A cabinet's site, as configured: the time zone its operators read times in. */
interface Site {
  timeZone: string;
}
/** Sites by device id; `*` is every cabinet not named. */
export type Sites = ReadonlyMap<string, Site>;
export const NO_SITES: Sites = new Map();

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const sitesSchema = z.record(
  z.string().min(1),
  z
    .object({
      timeZone: z
        .string()
        .regex(/^[A-Za-z][A-Za-z0-9_+/-]{0,63}$/, 'an IANA time zone name, e.g. Europe/Berlin')
        .refine(isTimeZone, 'not a time zone this server knows'),
    })
    .strict(),
);

/**
 * Reads `BESS_SITES`, a JSON file `{ "<device id>" | "*": { "timeZone": "<IANA zone>" } }`. A bad
 * file stops the start, naming the field that is wrong; no file, no sites.
 */
export function loadSites(path: string | undefined): Sites {
  if (!path) return NO_SITES;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`BESS_SITES ${path}: ${(error as Error).message}`, { cause: error });
  }
  const parsed = sitesSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`BESS_SITES ${path}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return new Map(Object.entries(parsed.data));
}

/** The time zone of a cabinet's site: its own entry's, else the default's; null when neither is configured. */
export const siteZone = (sites: Sites, deviceId: string): string | null =>
  (sites.get(deviceId) ?? sites.get('*'))?.timeZone ?? null;
