import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createBessClient, type BessClient } from './client.js';
import { eventually, startSampleServer } from './test-support/server.js';

const DEVICE = 'ZHPESS232A230002';
let bess: BessClient;
let stop: () => Promise<void>;

beforeAll(async () => {
  const started = await startSampleServer();
  stop = started.stop;
  bess = createBessClient({ url: started.server.url, WebSocket });
});
afterAll(async () => {
  bess.close();
  await stop();
});

describe('analytics procedures', () => {
  it('lists the sample’s injected faults as anomaly events, paged by cursor', async () => {
    const all = await bess.api.analytics.anomalies.query({ deviceId: DEVICE, limit: 500 });
    const kinds = new Set(all.items.map((e) => e.kind));
    for (const k of [
      'cell_overtemp',
      'weak_cell_voltage',
      'current_spike',
      'sensor_stuck',
      'phase_imbalance',
      'offline_gap',
    ])
      expect(kinds, k).toContain(k);
    const hot = all.items.find((e) => e.kind === 'cell_overtemp')!;
    expect(hot.start).toBeGreaterThanOrEqual(Date.parse('2024-03-01T13:00:00Z'));
    expect(hot.start).toBeLessThanOrEqual(Date.parse('2024-03-01T14:30:00Z'));
    const first = await bess.api.analytics.anomalies.query({ deviceId: DEVICE, limit: 2 });
    expect(first.items).toEqual(all.items.slice(0, 2));
    const second = await bess.api.analytics.anomalies.query({ deviceId: DEVICE, limit: 2, cursor: first.nextCursor! });
    expect(second.items).toEqual(all.items.slice(2, 4));
    const onlySpikes = await bess.api.analytics.anomalies.query({ deviceId: DEVICE, kinds: ['current_spike'] });
    expect(onlySpikes.items.every((e) => e.kind === 'current_spike')).toBe(true);
  });

  it('forecasts with an interval around each point, and says when SOH history is too short', async () => {
    const f = await bess.api.analytics.forecast.query({ deviceId: DEVICE, signal: 'bms1_soc', horizonHours: 6 });
    expect(f.points).toHaveLength(24);
    for (const p of f.points) expect(p.lower <= p.value && p.value <= p.upper).toBe(true);
    const rul = await bess.api.analytics.rul.query({ deviceId: DEVICE });
    expect(rul.status).toBe('insufficient_history');
    expect(rul.reason).toMatch(/days of SOH history/);
    await expect(
      bess.api.analytics.forecast.query({ deviceId: DEVICE, signal: 'nope', horizonHours: 6 }),
    ).rejects.toMatchObject({ data: { code: 'NOT_FOUND' } });
  });

  it('raises alerts as a replay passes through a fault', async () => {
    const alerts: { kind: string; severity: string }[] = [];
    const sub = bess.api.analytics.alerts.subscribe(
      { deviceId: DEVICE, interval: 0.1, from: '2024-03-01T13:00:00Z' },
      { onData: (e) => alerts.push(e.data) },
    );
    await eventually(() => alerts.some((a) => a.kind === 'cell_overtemp' && a.severity === 'critical'), 15_000);
    sub.unsubscribe();
  });

  it('alerts come from the PCS records and the raw files too, not only the BMS record', async () => {
    // The sample's phase imbalance is only in the PCS phase currents, and its hot cell's own file
    // (bms1_p1_t6) is no field of any record: a BMS-only detector sees neither.
    const alerts: { at: string; kind: string; signals: string[]; start: number }[] = [];
    const onData = (e: { id: string; data: { kind: string; signals: string[]; start: number } }) =>
      alerts.push({ ...e.data, at: e.id });
    const phases = bess.api.analytics.alerts.subscribe(
      { deviceId: DEVICE, interval: 0.1, from: '2024-03-03T17:25:00Z' },
      { onData },
    );
    const cells = bess.api.analytics.alerts.subscribe(
      { deviceId: DEVICE, interval: 0.1, from: '2024-03-01T13:00:00Z' },
      { onData },
    );
    try {
      await eventually(
        () => alerts.some((a) => a.kind === 'phase_imbalance') && alerts.some((a) => a.signals.includes('bms1_p1_t6')),
        15_000,
      );
    } finally {
      phases.unsubscribe();
      cells.unsubscribe();
    }
    const imbalance = alerts.find((a) => a.kind === 'phase_imbalance')!;
    expect(imbalance.signals).toEqual(['pcs1_ia', 'pcs1_ib', 'pcs1_ic']);
    expect(imbalance.start).toBeGreaterThanOrEqual(Date.parse('2024-03-03T17:30:00Z'));
    // Still tracked by the driving BMS record's time, at or after the reading that opened it, so a client resumes after it.
    expect(Date.parse(imbalance.at)).toBeGreaterThanOrEqual(imbalance.start + 10 * 60_000);
    const cell = alerts.find((a) => a.signals.includes('bms1_p1_t6'))!;
    expect(cell.kind).toBe('cell_overtemp');
    expect(Date.parse(cell.at)).toBeGreaterThanOrEqual(cell.start);
  });
});
