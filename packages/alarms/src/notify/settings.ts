import { BessError } from '@bess/core';
import type { SqlDatabase } from '../db.js';
import { notifyConfigSchema, type NotifyConfig } from './config.js';

export interface SavedConfig {
  config: NotifyConfig;
  updatedBy: string;
  updatedAt: number;
}

/** The channels and rules an admin set through the API, if any (they replace the file's). */
export async function loadSavedConfig(db: SqlDatabase): Promise<SavedConfig | null> {
  const [row] = await db.query<{ config: unknown; updated_by: string; updated_at: number }>(
    'SELECT config, updated_by, updated_at FROM notify_settings WHERE id = 1',
  );
  if (!row) return null;
  const parsed = notifyConfigSchema.safeParse(row.config);
  // A row written by a newer server that this one cannot read is ignored, not trusted halfway.
  return parsed.success ? { config: parsed.data, updatedBy: row.updated_by, updatedAt: row.updated_at } : null;
}

export async function saveConfig(db: SqlDatabase, config: NotifyConfig, actor: string): Promise<SavedConfig> {
  const updatedAt = Date.now();
  await db.query(
    `INSERT INTO notify_settings (id, config, updated_by, updated_at) VALUES (1, $1, $2, $3)
     ON CONFLICT (id) DO UPDATE SET config = EXCLUDED.config, updated_by = EXCLUDED.updated_by,
       updated_at = EXCLUDED.updated_at`,
    [JSON.stringify(config), actor, updatedAt],
  );
  return { config, updatedBy: actor, updatedAt };
}

const REDACTED = '********';

/** The config as it may be shown: webhook secrets and passwords in URLs are never sent back. */
export function redacted(config: NotifyConfig): NotifyConfig {
  const channels = Object.fromEntries(
    Object.entries(config.channels).map(([name, c]) => [
      name,
      c.type === 'webhook'
        ? { ...c, url: withoutPassword(c.url), secret: REDACTED }
        : { ...c, smtp: withoutPassword(c.smtp) },
    ]),
  );
  return { ...config, channels };
}

function withoutPassword(url: string): string {
  const parsed = new URL(url);
  if (!parsed.password) return url;
  parsed.password = REDACTED;
  return parsed.toString();
}

/**
 * What an admin sends back as its redaction (a webhook secret, a password in a URL) keeps the value
 * the channel of that name had; a redaction with nothing behind it is refused, never stored.
 */
export function keepSecrets(next: NotifyConfig, current: NotifyConfig): NotifyConfig {
  const refuse = (what: string) =>
    new BessError('BAD_REQUEST', `${what} is redacted, and no channel of that name has one to keep`);
  const restore = (sent: string, before: string | undefined, what: string): string => {
    if (!sent.includes(REDACTED)) return sent;
    if (before === undefined || withoutPassword(before) !== sent) throw refuse(what);
    return before;
  };
  const channels = Object.fromEntries(
    Object.entries(next.channels).map(([name, channel]): [string, NotifyConfig['channels'][string]] => {
      const before = Object.hasOwn(current.channels, name) ? current.channels[name] : undefined;
      if (channel.type === 'webhook') {
        const old = before?.type === 'webhook' ? before : undefined;
        if (channel.secret === REDACTED && !old) throw refuse(`${name}'s secret`);
        const secret = channel.secret === REDACTED ? old!.secret : channel.secret;
        return [name, { ...channel, secret, url: restore(channel.url, old?.url, `${name}'s URL password`) }];
      }
      const old = before?.type === 'email' ? before : undefined;
      return [name, { ...channel, smtp: restore(channel.smtp, old?.smtp, `${name}'s SMTP password`) }];
    }),
  );
  return { ...next, channels };
}
