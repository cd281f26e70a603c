import {
  AlarmMonitor,
  AlarmStore,
  EMPTY_CONFIG,
  Notifier,
  openPglite,
  type Alarm,
  type AlarmChange,
  type SqlDatabase,
} from '@bess/alarms';
import type { BessDataset } from '@bess/core';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createBessClient } from './client.js';
import { ApiKeys } from './ops/auth.js';
import { eventually, startSampleServer } from './test-support/server.js';
import type { BessServer } from './server.js';

const VIEWER = 'viewer-key-0123456789';
const OPERATOR = 'operator-key-0123456789';
const ADMIN = 'admin-key-0123456789';
let notifier: Notifier;
let server: BessServer;
let stop: () => Promise<void>;
let db: SqlDatabase;
let monitor: AlarmMonitor;

beforeAll(async () => {
  db = await openPglite('memory://');
  const store = await AlarmStore.open(db);
  let dataset: BessDataset;
  ({ server, dataset, stop } = await startSampleServer({
    apiKeys: new ApiKeys([`vera:viewer:${VIEWER}`, `otto:operator:${OPERATOR}`, `root:admin:${ADMIN}`]),
    // Not started: these tests change its rules, they do not send.
    alarms: { store, notifier: (notifier = new Notifier(db, EMPTY_CONFIG)) },
  }));
  // The sample's injected faults are history: the monitor records them as it catches up.
  monitor = new AlarmMonitor(dataset, store, null, {
    historyMs: 400 * 86_400_000,
  });
  monitor.start();
  await eventually(() => monitor.caughtUp.size === dataset.devices().length, 60_000);
}, 90_000);
afterAll(async () => {
  await monitor.close();
  await stop();
  await db.close();
});

const client = (apiKey: string) => createBessClient({ url: server.url, WebSocket, apiKey });

describe('alarms over the API', () => {
  it('lists the fleet’s alarms newest first, pages by cursor, and filters', async () => {
    const viewer = client(VIEWER);
    const first = await viewer.api.alarms.list.query({ limit: 5 });
    expect(first.items.length).toBe(5);
    for (const a of first.items)
      expect(a).toMatchObject({
        id: expect.any(String) as unknown,
        deviceId: expect.any(String) as unknown,
        status: 'cleared',
        acknowledged: false,
        historical: true,
      });
    const second = await viewer.api.alarms.list.query({ limit: 5, cursor: first.nextCursor! });
    const opened = [...first.items, ...second.items].map((a) => a.openedAt);
    expect(opened).toEqual([...opened].sort((a, b) => b - a));
    expect(new Set([...first.items, ...second.items].map((a) => a.id)).size).toBe(10);
    const critical = await viewer.api.alarms.list.query({ severity: 'critical', limit: 200 });
    expect(critical.items.every((a) => a.severity === 'critical')).toBe(true);
    viewer.close();
  });

  it('lets an operator acknowledge with a comment, seen live by another client; a viewer is refused', async () => {
    const viewer = client(VIEWER);
    const operator = client(OPERATOR);
    const [target] = (await viewer.api.alarms.list.query({ limit: 1 })).items as Alarm[];
    const seen: AlarmChange[] = [];
    const sub = viewer.api.alarms.changes.subscribe({}, { onData: (c) => seen.push(c) });
    await new Promise((r) => setTimeout(r, 200));
    const refused = await viewer.api.alarms.acknowledge
      .mutate({ id: target!.id, comment: 'mine' })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TRPCClientError);
    expect((refused as TRPCClientError<never>).data).toMatchObject({ code: 'FORBIDDEN' });
    const done = await operator.api.alarms.acknowledge.mutate({ id: target!.id, comment: 'checked the fan' });
    expect(done.alarm).toMatchObject({ acknowledged: true, acknowledgedBy: 'otto', ackComment: 'checked the fan' });
    await eventually(() => seen.some((c) => c.trigger === 'acknowledged' && c.alarm.id === target!.id));
    const detail = await viewer.api.alarms.get.query({ id: target!.id });
    expect(detail.comments.map((c) => c.author)).toEqual(['otto']);
    await expect(viewer.api.alarms.get.query({ id: 'no-such-alarm' })).rejects.toMatchObject({
      data: { code: 'NOT_FOUND' },
    });
    sub.unsubscribe();
    viewer.close();
    operator.close();
  });

  it('serves the same over REST: list, get, and acknowledge by an operator key only', async () => {
    const as = (key: string, path: string, init: RequestInit = {}) =>
      fetch(`${server.url}${path}`, { ...init, headers: { 'X-API-Key': key, 'Content-Type': 'application/json' } });
    const list = (await (await as(VIEWER, '/alarms?limit=2&severity=warning')).json()) as {
      items: Alarm[];
      nextCursor: string | null;
    };
    expect(list.items).toHaveLength(2);
    expect(typeof list.nextCursor).toBe('string');
    const id = list.items[1]!.id;
    expect(((await (await as(VIEWER, `/alarms/${id}`)).json()) as { alarm: Alarm }).alarm.id).toBe(id);
    const post = (key: string, body: string) => as(key, `/alarms/${id}/acknowledge`, { method: 'POST', body });
    expect((await post(VIEWER, '{"comment":"x"}')).status).toBe(403);
    expect((await post(OPERATOR, '{not json')).status).toBe(400);
    expect((await post(OPERATOR, JSON.stringify({ comment: 'x'.repeat(20_000) }))).status).toBe(413);
    expect((await post(OPERATOR, JSON.stringify({ comment: 7 }))).status).toBe(422);
    const acked = await post(OPERATOR, JSON.stringify({ comment: 'via REST' }));
    expect(acked.status).toBe(200);
    expect(((await acked.json()) as { alarm: Alarm }).alarm).toMatchObject({
      acknowledgedBy: 'otto',
      ackComment: 'via REST',
    });
    expect((await as(OPERATOR, '/alarms/nope/comments', { method: 'POST', body: '{"body":"hi"}' })).status).toBe(404);
    expect((await as(VIEWER, '/alarms?cursor=garbage')).status).toBe(422);
    expect((await as(VIEWER, '/alarms?severity=loud')).status).toBe(422);
  });

  it('lets only an admin change the notification rules, kept in the database, never showing a secret', async () => {
    const operator = client(OPERATOR);
    const admin = client(ADMIN);
    const config = {
      channels: { ops: { type: 'webhook' as const, url: 'http://127.0.0.1:9/hook', secret: 'top-secret' } },
      rules: [{ severity: 'critical' as const, channels: ['ops'] }],
    };
    await expect(operator.api.alarms.setNotifications.mutate(config)).rejects.toMatchObject({
      data: { code: 'FORBIDDEN' },
    });
    await expect(
      admin.api.alarms.setNotifications.mutate({ ...config, rules: [{ channels: ['nowhere'] }] }),
    ).rejects.toMatchObject({ data: { code: 'BAD_REQUEST' } });
    const saved = await admin.api.alarms.setNotifications.mutate(config);
    expect(saved.updatedBy).toBe('root');
    const shown = await admin.api.alarms.notifications.query();
    expect(shown).toMatchObject({ source: 'api', updatedBy: 'root' });
    expect(JSON.stringify(shown)).not.toContain('top-secret');
    // Sending the shown (redacted) config back changes the rules and keeps the secret.
    await admin.api.alarms.setNotifications.mutate({
      ...shown.config,
      rules: [{ severity: 'warning', channels: ['ops'] }],
    } as never);
    expect(notifier.current.channels.ops).toMatchObject({ secret: 'top-secret' });
    expect(notifier.current.rules).toEqual([{ severity: 'warning', channels: ['ops'] }]);
    operator.close();
    admin.close();
  });

  it('refuses what PostgreSQL or an operator would regret: NUL text, a second acknowledgement, shelving into the past', async () => {
    const operator = client(OPERATOR);
    const [target] = (await operator.api.alarms.list.query({ acknowledged: false, limit: 1 })).items as Alarm[];
    const id = target!.id;
    await expect(operator.api.alarms.comment.mutate({ id, body: 'a\u0000b' })).rejects.toMatchObject({
      data: { code: 'BAD_REQUEST' },
    });
    await expect(operator.api.alarms.get.query({ id: 'a\u0000b' })).rejects.toMatchObject({
      data: { code: 'BAD_REQUEST' },
    });
    const rest = await fetch(`${server.url}/alarms/${id}/comments`, {
      method: 'POST',
      headers: { 'X-API-Key': OPERATOR },
      body: JSON.stringify({ body: 'a\u0000b' }),
    });
    expect(rest.status).toBe(422);
    const badCursor = Buffer.from(JSON.stringify([1e12, 'a\u0000b'])).toString('base64url');
    await expect(operator.api.alarms.list.query({ cursor: badCursor })).rejects.toMatchObject({
      data: { code: 'BAD_REQUEST' },
    });
    await operator.api.alarms.acknowledge.mutate({ id, comment: 'first' });
    const second = await operator.api.alarms.acknowledge.mutate({ id, comment: '  ' });
    expect(second.alarm).toMatchObject({ acknowledgedBy: 'otto', ackComment: 'first' });
    expect((await operator.api.alarms.get.query({ id })).comments.map((c) => c.body)).toEqual(['first']);
    for (const until of [0, Date.now() - 1000, 1.5, Date.now() + 400 * 86_400_000, '2024-02-30T00:00:00Z'])
      await expect(operator.api.alarms.shelve.mutate({ id, until })).rejects.toMatchObject({
        data: { code: 'BAD_REQUEST' },
      });
    expect((await operator.api.alarms.shelve.mutate({ id, until: Date.now() + 3_600_000 })).alarm.shelvedBy).toBe(
      'otto',
    );
    operator.close();
  });

  it('never shows or stores a redaction as a secret, and rules name only configured channels', async () => {
    const admin = client(ADMIN);
    const mail = {
      type: 'email' as const,
      smtp: 'smtps://mailer:SuperSecretPw@127.0.0.1:2465',
      to: ['ops@example.com'],
    };
    await admin.api.alarms.setNotifications.mutate({ channels: { mail }, rules: [{ channels: ['mail'] }] });
    const shown = await admin.api.alarms.notifications.query();
    expect(JSON.stringify(shown)).not.toContain('SuperSecretPw');
    await admin.api.alarms.setNotifications.mutate(shown.config);
    expect(notifier.current.channels.mail).toMatchObject({ smtp: mail.smtp });
    const fresh = { type: 'webhook' as const, url: 'http://127.0.0.1:9/new', secret: '********' };
    await expect(
      admin.api.alarms.setNotifications.mutate({ channels: { fresh }, rules: [{ channels: ['fresh'] }] }),
    ).rejects.toMatchObject({ data: { code: 'BAD_REQUEST' } });
    for (const name of ['toString', '__proto__', 'constructor'])
      await expect(
        admin.api.alarms.setNotifications.mutate({ channels: {}, rules: [{ channels: [name] }] }),
      ).rejects.toMatchObject({
        data: { code: 'BAD_REQUEST' },
      });
    admin.close();
  });
});
