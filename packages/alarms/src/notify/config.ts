import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ANOMALY_KINDS } from '@bess/core';

const severity = z.enum(['info', 'warning', 'critical']);
const trigger = z.enum(['opened', 'escalated', 'repeated', 'cleared', 'reminder']);

const webhook = z.object({
  type: z.literal('webhook'),
  url: z.url({ protocol: /^https?$/ }),
  /** Signs each body: `X-Bess-Signature: sha256=<hex HMAC-SHA256>`. */
  secret: z.string().min(1),
  /** Per delivery (default 10 s); under the outbox's 60 s claim, so no other sender takes it over meanwhile. */
  timeoutMs: z.number().int().positive().max(30_000).optional(),
});
const email = z.object({
  type: z.literal('email'),
  smtp: z.url({ protocol: /^smtps?$/ }),
  to: z.array(z.email()).min(1).max(50),
  from: z.email().optional(),
});
const channelSchema = z.discriminatedUnion('type', [webhook, email]);

const ruleSchema = z.object({
  name: z.string().min(1).optional(),
  /** At least this severity (default: every alarm). */
  severity: severity.optional(),
  devices: z.array(z.string().min(1).max(128)).max(1000).optional(),
  kinds: z.array(z.enum(ANOMALY_KINDS)).optional(),
  channels: z.array(z.string().min(1).max(64)).min(1).max(50),
  /** When to send (default: opened, escalated, repeated, cleared). */
  on: z.array(trigger).optional(),
  /** Remind while the alarm stays active and unacknowledged, every this many minutes. */
  remindEveryMinutes: z.number().positive().optional(),
  /** At most one message per alarm and channel within this many minutes (clears excepted). */
  quietMinutes: z.number().nonnegative().optional(),
});

export const notifyConfigSchema = z
  .object({
    channels: z
      .record(z.string().min(1).max(64), channelSchema)
      .refine((c) => Object.keys(c).length <= 50, 'at most 50 channels'),
    rules: z.array(ruleSchema).max(200),
    /** Tries before a delivery is dead-lettered (default 8). */
    maxAttempts: z.number().int().min(1).max(50).optional(),
  })
  .superRefine((config, ctx) => {
    config.rules.forEach((rule, i) =>
      rule.channels.forEach((name) => {
        if (!Object.hasOwn(config.channels, name))
          ctx.addIssue({ code: 'custom', path: ['rules', i, 'channels'], message: `no channel named ${name}` });
      }),
    );
  });

export type NotifyConfig = z.infer<typeof notifyConfigSchema>;
export type NotifyRule = z.infer<typeof ruleSchema>;
export type Channel = z.infer<typeof channelSchema>;

export const EMPTY_CONFIG: NotifyConfig = { channels: {}, rules: [] };

/** `BESS_NOTIFY_CONFIG`'s file, checked: a bad file stops the start with the field that is wrong. */
export function loadNotifyConfig(path: string | undefined): NotifyConfig {
  if (!path) return EMPTY_CONFIG;
  const parsed = notifyConfigSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`BESS_NOTIFY_CONFIG ${path}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}
