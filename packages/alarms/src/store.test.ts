import type { AlertUpdate, AnomalyEvent } from '@bess/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlDatabase } from './db.js';
import { migrate, SCHEMA_VERSION } from './migrations.js';
import { AlarmStore } from './store.js';
import { openFresh, startPostgres, type Engine } from './test-support/postgres.js';

let server: Awaited<ReturnType<typeof startPostgres>> | null = null;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(() => server?.stop());

const T0 = Date.UTC(2024, 2, 1);
const event = (over: Partial<AnomalyEvent> = {}): AnomalyEvent => ({
  id: 'e',
  deviceId: 'CAB1',
  kind: 'cell_overtemp',
  severity: 'warning',
  signals: ['bms1_cell_max_t'],
  start: T0,
  end: T0 + 60_000,
  observed: 48,
  threshold: 45,
  message: 'hottest cell 48 °C, above 45 °C',
  ...over,
});
const update = (status: AlertUpdate['status'], over: Partial<AnomalyEvent> = {}): AlertUpdate => ({
  status,
  event: event(over),
});

describe.each<Engine>(['pglite', 'postgres'])('the alarm store on %s', (engine) => {
  let db: SqlDatabase;
  let store: AlarmStore;
  beforeAll(async () => {
    db = await (await openFresh(engine, server)).open();
    store = await AlarmStore.open(db);
  });
  afterAll(() => db.close());
  const apply = (u: AlertUpdate, historical = false) =>
    db.transaction((tx) => store.applyDetection(tx, u, { historical, now: Date.now() }));

  it('migrates once, and again without change', async () => {
    expect(await migrate(db)).toBe(SCHEMA_VERSION);
    const rows = await db.query<{ n: number | string }>('SELECT count(*) AS n FROM bess_migrations');
    expect(Number(rows[0]!.n)).toBe(SCHEMA_VERSION);
  });

  it('keeps one alarm per episode: opened, continued, escalated, cleared, then a quick return grouped', async () => {
    const opened = await apply(update('opened'));
    expect(opened.change?.trigger).toBe('opened');
    const id = opened.alarmId!;
    // The same condition again while active is a continuation, not a second alarm.
    expect(await apply(update('opened'))).toEqual({ alarmId: id, change: null });
    const escalated = await apply(update('escalated', { severity: 'critical', observed: 57, end: T0 + 300_000 }));
    expect(escalated.change).toMatchObject({ trigger: 'escalated', alarm: { id, severity: 'critical' } });
    const cleared = await apply(update('closed', { severity: 'critical', end: T0 + 600_000 }));
    expect(cleared.change?.alarm).toMatchObject({ id, status: 'cleared', clearedAt: T0 + 600_000 });
    const again = await apply(update('opened', { start: T0 + 900_000, end: T0 + 960_000 }));
    expect(again.change).toMatchObject({ trigger: 'repeated', alarm: { id, status: 'active', occurrences: 2 } });
    expect(again.change?.alarm.highestSeverity).toBe('critical');
    const { items } = await store.list({ deviceId: 'CAB1' });
    expect(items.map((a) => a.id)).toEqual([id]);
  });

  it('lists newest first with filters and cursor paging that neither repeats nor skips', async () => {
    for (let i = 0; i < 7; i++)
      await apply(
        update('opened', { deviceId: 'CAB2', kind: 'current_spike', signals: [`s${i}`], start: T0 + i * 3_600_000 }),
      );
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.list({ deviceId: 'CAB2' }, 3, cursor);
      seen.push(...page.items.map((a) => a.signals[0]!));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(['s6', 's5', 's4', 's3', 's2', 's1', 's0']);
    expect((await store.list({ deviceId: 'CAB2', severity: 'critical' })).items).toEqual([]);
    expect((await store.list({ kind: 'current_spike', from: T0 + 5 * 3_600_000 })).items).toHaveLength(2);
    await expect(store.list({}, 10, 'not-a-cursor')).rejects.toMatchObject({ code: 'BAD_REQUEST', field: 'cursor' });
  });

  it('acknowledges, comments and shelves by name, and says when an alarm does not exist', async () => {
    const { alarmId } = await apply(update('opened', { deviceId: 'CAB3' }));
    const acked = await store.acknowledge(alarmId!, 'alice', 'looking at the fan');
    expect(acked.alarm).toMatchObject({
      acknowledged: true,
      acknowledgedBy: 'alice',
      ackComment: 'looking at the fan',
    });
    await store.comment(alarmId!, 'bob', 'fan replaced');
    const until = Date.now() + 3_600_000;
    expect((await store.shelve(alarmId!, 'bob', until)).alarm).toMatchObject({ shelvedUntil: until, shelvedBy: 'bob' });
    const { alarm, comments } = await store.get(alarmId!);
    expect(alarm.acknowledged).toBe(true);
    expect(comments.map((c) => [c.author, c.body])).toEqual([
      ['alice', 'looking at the fan'],
      ['bob', 'fan replaced'],
    ]);
    expect((await store.list({ acknowledged: false, deviceId: 'CAB3' })).items).toEqual([]);
    await expect(store.acknowledge('nope', 'alice', '')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store.get("'; DROP TABLE alarms; --")).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
