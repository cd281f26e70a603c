import { appendFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDataset, type IndexedBessDataset } from './dataset.js';
import { csv, scratchRoot, stamp } from './test-support/tmp.js';
import { BessError, type DatasetChange } from './types.js';

const T0 = Date.UTC(2024, 2, 1);
const S = 1000;
const scratch = scratchRoot();
let dataset: IndexedBessDataset;

/** Readings every `periodS` seconds over [fromS, toS), value = f(seconds since T0). */
function series(periodS: number, fromS: number, toS: number, f: (s: number) => number): [string, number][] {
  const rows: [string, number][] = [];
  for (let s = fromS; s < toS; s += periodS) rows.push([stamp(T0 + s * S), f(s)]);
  return rows;
}

beforeAll(async () => {
  // PCS at 30 s for 2 h with a 1 h offline gap in the middle; a slow 10-min temperature.
  const pcsRows = () => [...series(30, 0, 1800, (s) => s), ...series(30, 5400, 7200, (s) => s)];
  scratch.write('CAB1', 'pcs1_ap', csv('pcs1_ap', pcsRows()));
  scratch.write('CAB1', 'pcs1_dcv', csv('pcs1_dcv', pcsRows()));
  scratch.write(
    'CAB1',
    'pcs1_t_igbt',
    csv('pcs1_t_igbt', [...series(600, 0, 1800, (s) => 40 + s / 600), ...series(600, 5400, 7200, (s) => 40 + s / 600)]),
  );
  // BMS: SOC every 60 s, SOH once an hour, cell max temp only during the first 20 minutes.
  scratch.write(
    'CAB1',
    'bms1_soc',
    csv(
      'bms1_soc',
      series(60, 0, 7200, (s) => 50 + s / 60),
    ),
  );
  scratch.write(
    'CAB1',
    'bms1_soh',
    csv(
      'bms1_soh',
      series(3600, 0, 7200, () => 97.5),
    ),
  );
  scratch.write(
    'CAB1',
    'bms1_cell_max_t',
    csv(
      'bms1_cell_max_t',
      series(120, 0, 1200, () => 31),
    ),
  );
  scratch.write(
    'CAB2',
    'bms1_soc',
    csv(
      'bms1_soc',
      series(60, 0, 600, () => 10),
    ),
  );
  // Two weeks of a 1-min current with one 1-sample spike, for downsampling through page summaries.
  scratch.write(
    'CAB3',
    'bms1_c',
    csv(
      'bms1_c',
      series(60, 0, 20_160 * 60, (s) => (s === 7_777 * 60 ? 999 : Math.sin(s / 3600) * 100)),
    ),
  );
  scratch.write(
    'meter/m1',
    'com_ae',
    csv(
      'com_ae',
      series(60, 0, 600, () => 1),
    ),
  );
  dataset = await openDataset(scratch.root, { workers: 0 });
});
afterAll(async () => {
  await dataset.close();
  scratch.remove();
});

describe('discovery', () => {
  it('finds the cabinets and their signals, and skips the meter folder', () => {
    expect(dataset.devices().map((d) => d.id)).toEqual(['CAB1', 'CAB2', 'CAB3']);
    const cab1 = dataset.device('CAB1');
    expect(cab1.hasBms && cab1.hasPcs && !cab1.hasCells).toBe(true);
    const ap = cab1.signals.find((s) => s.signal === 'pcs1_ap')!;
    expect(ap.rows).toBe(120);
    expect(ap.medianPeriodMs).toBe(30_000);
    expect(ap.gaps).toBe(1);
    expect(ap.spec.unit).toBe('kVA');
    expect(dataset.device('CAB2').hasPcs).toBe(false);
  });

  it('rejects unknown and path-like device ids with NOT_FOUND', () => {
    for (const id of ['NOPE', '../CAB1', '..', 'CAB1/../CAB2', '/etc', '', 'meter']) {
      expect(() => dataset.device(id), id).toThrow(BessError);
      try {
        dataset.device(id);
      } catch (e) {
        expect((e as BessError).code).toBe('NOT_FOUND');
      }
    }
  });
});

describe('alignment', () => {
  it('steps PCS records at the fastest signal’s measured period', () => {
    expect(dataset.defaultStepMs('CAB1', 'pcs')).toBe(30_000);
    expect(dataset.defaultStepMs('CAB1', 'bms')).toBe(60_000);
  });

  it('takes the last reading at or before each time, never a later one', async () => {
    const page = await dataset.page('CAB1', 'pcs', { skip: 0, limit: 3, stepMs: 45_000 });
    expect(page.records.map((r) => r.timestamp)).toEqual([
      '2024-03-01T00:00:00Z',
      '2024-03-01T00:00:45Z',
      '2024-03-01T00:01:30Z',
    ]);
    // at 00:00:45 the latest apparent-power reading is the one from 00:00:30
    expect(page.records.map((r) => r.apparent_power)).toEqual([0, 30, 90]);
    // slow IGBT temperature carries forward within its staleness limit
    expect(page.records.map((r) => r.temp_igbt)).toEqual([40, 40, 40]);
    // signals the cabinet does not log are null, not invented
    expect(page.records[0]!.ac_current_a).toBeNull();
  });

  it('makes slow signals null once their reading is stale', async () => {
    const page = await dataset.page('CAB1', 'bms', { skip: 0, limit: 120 });
    const at = (min: number) =>
      page.records.find((r) => r.timestamp === stamp(T0 + min * 60_000).replace(' ', 'T') + 'Z')!;
    expect(at(18).cell_max_temp).toBe(31);
    // last reading at 00:18, period 2 min, stale after 6 min
    expect(at(24).cell_max_temp).toBe(31);
    expect(at(25).cell_max_temp).toBeNull();
    expect(at(90).soh).toBe(97.5);
  });

  it('produces no records inside an offline gap', async () => {
    const page = await dataset.page('CAB1', 'pcs', { skip: 0, limit: 1000 });
    const times = page.records.map((r) => Date.parse(r.timestamp));
    // The 30 s signals fall silent at 00:29:30 and are stale 90 s later; the 10-min IGBT
    // temperature read at 00:20 carries on alone until it is stale at 00:50. Then nothing until 01:30.
    expect(times.filter((t) => t > T0 + 3000 * S && t < T0 + 5400 * S)).toEqual([]);
    const igbtOnly = page.records.find((r) => r.timestamp === '2024-03-01T00:45:00Z')!;
    expect(igbtOnly).toMatchObject({ apparent_power: null, dc_voltage: null, temp_igbt: 42 });
    expect(times).toContain(T0 + 5400 * S);
    expect(page.total).toBe(page.records.length);
  });

  it('pages stably: concatenated pages equal one large page, at any skip', async () => {
    const all = await dataset.page('CAB1', 'pcs', { skip: 0, limit: 1000 });
    const pieces = [];
    for (let skip = 0; skip < all.total; skip += 7)
      pieces.push(...(await dataset.page('CAB1', 'pcs', { skip, limit: 7 })).records);
    expect(pieces).toEqual(all.records);
    const again = await dataset.page('CAB1', 'pcs', { skip: 100, limit: 20 });
    expect(again.records).toEqual(all.records.slice(100, 120));
    const past = await dataset.page('CAB1', 'pcs', { skip: all.total + 5, limit: 10 });
    expect(past.records).toEqual([]);
    expect(past.total).toBe(all.total);
  });

  it('finds the position of a time, for streams that start or resume there', async () => {
    const all = await dataset.page('CAB1', 'pcs', { skip: 0, limit: 1000 });
    const at = dataset.positionOf('CAB1', 'pcs', T0 + 5400 * S);
    expect(all.records[at]!.timestamp).toBe('2024-03-01T01:30:00Z');
    // a time inside the gap maps to the first record after it
    expect(dataset.positionOf('CAB1', 'pcs', T0 + 4000 * S)).toBe(at);
    expect(dataset.positionOf('CAB1', 'pcs', T0 - 1e9)).toBe(0);
    expect(dataset.positionOf('CAB1', 'pcs', T0 + 1e9)).toBe(all.total);
  });

  it('restricts to a time range', async () => {
    const from = T0 + 600 * S;
    const to = T0 + 900 * S;
    const page = await dataset.page('CAB1', 'pcs', { skip: 0, limit: 100, from, to });
    expect(page.total).toBe(11);
    expect(page.records[0]!.timestamp).toBe('2024-03-01T00:10:00Z');
    expect(page.records.at(-1)!.timestamp).toBe('2024-03-01T00:15:00Z');
  });

  it('rejects bad paging parameters with the field named', async () => {
    const cases: [Record<string, number>, string][] = [
      [{ skip: -1, limit: 10 }, 'skip'],
      [{ skip: 0, limit: 0 }, 'limit'],
      [{ skip: 0.5, limit: 10 }, 'skip'],
      [{ skip: 0, limit: 10, stepMs: 10 }, 'step'],
      [{ skip: 0, limit: 10, from: 10, to: 5 }, 'from'],
    ];
    for (const [query, field] of cases) {
      await expect(dataset.page('CAB1', 'pcs', query as never)).rejects.toMatchObject({ code: 'BAD_REQUEST', field });
    }
  });
});

describe('warm-up after a start', () => {
  it('prepares each device and kind in its own event-loop turn, so requests are not held up, and changes no answer', async () => {
    const fresh = await openDataset(scratch.root, { workers: 0 });
    let turns = 0;
    let warming = true;
    const spin = (): void => {
      if (!warming) return;
      turns++;
      setImmediate(spin);
    };
    setImmediate(spin);
    await fresh.warm();
    warming = false;
    const kinds = ['bms', 'pcs'] as const;
    expect(turns).toBeGreaterThanOrEqual(fresh.devices().length * kinds.length - 1);
    for (const device of fresh.devices()) {
      for (const kind of kinds) {
        const total = (await dataset.page(device.id, kind, { skip: 0, limit: 1 })).total;
        for (const skip of [0, Math.max(0, total - 100)]) {
          expect(await fresh.page(device.id, kind, { skip, limit: 100 })).toEqual(
            await dataset.page(device.id, kind, { skip, limit: 100 }),
          );
        }
      }
    }
    await fresh.close();
  });
});

describe('watching for new rows', () => {
  it('checks a large cabinet folder for changes, batch by batch, and sees the one file that grew', async () => {
    const big = scratchRoot();
    // A cabinet of 300 signal files (the real ones have about 600): ten batches of stats.
    for (let i = 0; i < 300; i++)
      big.write(
        'CAB7',
        `bms1_p1_v${i + 1}`,
        csv(
          `bms1_p1_v${i + 1}`,
          series(60, 0, 600, () => 3.3),
        ),
      );
    // A small cabinet, checked in one batch, finishes first: devices still come in name order.
    big.write(
      'CAB8',
      'bms1_soc',
      csv(
        'bms1_soc',
        series(60, 0, 600, () => 50),
      ),
    );
    const watched = await openDataset(big.root, { workers: 0 });
    try {
      expect(watched.devices().map((d) => d.id)).toEqual(['CAB7', 'CAB8']);
      expect((await watched.refresh()).devices.size).toBe(0);
      appendFileSync(`${big.root}/CAB7/bms1_p1_v242.csv`, `${stamp(T0 + 600 * S)},3.25\n`);
      const change = await watched.refresh();
      expect(change.devices.get('CAB7')).toEqual(['bms1_p1_v242']);
      expect((await watched.readSignal('CAB7', 'bms1_p1_v242', T0 + 600 * S, T0 + 600 * S)).v[0]).toBe(3.25);
      expect(watched.device('CAB7').signals).toHaveLength(300);
    } finally {
      await watched.close();
      big.remove();
    }
  });
});

describe('file-change notices', () => {
  it('brings in an append, a new signal file and a deleted one without waiting for the poll', async () => {
    const live = scratchRoot();
    live.write(
      'CAB5',
      'bms1_soc',
      csv(
        'bms1_soc',
        series(60, 0, 600, (s) => 50 + s / 60),
      ),
    );
    live.write(
      'CAB5',
      'bms1_soh',
      csv(
        'bms1_soh',
        series(60, 0, 600, () => 97),
      ),
    );
    const watched = await openDataset(live.root, { workers: 0 });
    const nextChange = () =>
      new Promise<DatasetChange>((resolve) => {
        const off = watched.onChange((change) => {
          off();
          resolve(change);
        });
      });
    // A poll an hour apart: whatever arrives here came through the notices.
    const stop = watched.watch(3_600_000);
    try {
      let change = nextChange();
      appendFileSync(`${live.root}/CAB5/bms1_soc.csv`, `${stamp(T0 + 600 * S)},61\n`);
      expect((await change).devices.get('CAB5')).toEqual(['bms1_soc']);
      expect((await watched.valueAt('CAB5', 'bms1_soc', T0 + 600 * S))?.v).toBe(61);

      change = nextChange();
      live.write(
        'CAB5',
        'bms1_cell_max_t',
        csv(
          'bms1_cell_max_t',
          series(60, 0, 600, () => 31),
        ),
      );
      expect((await change).devices.get('CAB5')).toEqual(['bms1_cell_max_t']);
      expect(watched.device('CAB5').signals.map((s) => s.signal)).toContain('bms1_cell_max_t');

      change = nextChange();
      rmSync(`${live.root}/CAB5/bms1_soh.csv`);
      expect((await change).devices.get('CAB5')).toEqual(['bms1_soh']);
      expect(watched.device('CAB5').signals.map((s) => s.signal)).not.toContain('bms1_soh');
    } finally {
      stop();
      await watched.close();
      live.remove();
    }
  });
});

describe('raw reads', () => {
  it('reads a range, the as-of value and a downsampled series that keeps extremes', async () => {
    const series = await dataset.readSignal('CAB1', 'bms1_soc', T0, T0 + 5 * 60_000);
    expect([...series.v]).toEqual([50, 51, 52, 53, 54, 55]);
    expect(await dataset.valueAt('CAB1', 'bms1_soc', T0 + 90_000)).toEqual({ t: T0 + 60_000, v: 51 });
    expect(await dataset.valueAt('CAB1', 'bms1_soc', T0 - 1)).toBeNull();
    const down = await dataset.downsample('CAB1', 'bms1_soc', T0, T0 + 7200 * S, 10);
    expect(down.t.length).toBeLessThanOrEqual(10);
    expect(Math.min(...down.min)).toBe(50);
    expect(Math.max(...down.max)).toBe(169);
    await expect(dataset.readSignal('CAB1', 'nope', 0, 1)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      field: 'signal',
    });
    await expect(dataset.readSignal('CAB1', 'bms1_soc', T0, T0 + 7200 * S, 5)).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
  });
});

describe('downsampling', () => {
  const naive = async (from: number, to: number, maxPoints: number) => {
    const raw = await dataset.readSignal('CAB3', 'bms1_c', from, to);
    const bucketMs = Math.ceil((to - from + 1) / maxPoints);
    const buckets = new Map<number, number[]>();
    raw.t.forEach((t, i) => {
      const b = Math.floor((t - from) / bucketMs);
      buckets.set(b, [...(buckets.get(b) ?? []), raw.v[i]!]);
    });
    return [...buckets.values()].map((vs) => ({
      min: Math.min(...vs),
      max: Math.max(...vs),
      mean: vs.reduce((a, b) => a + b, 0) / vs.length,
      count: vs.length,
    }));
  };

  /** The fast downsample against the row-by-row one: the same buckets, extremes and means. */
  const compare = async (from: number, to: number, maxPoints: number) => {
    const fast = await dataset.downsample('CAB3', 'bms1_c', from, to, maxPoints);
    const slow = await naive(from, to, maxPoints);
    expect(fast.min).toEqual(slow.map((b) => b.min));
    expect(fast.max).toEqual(slow.map((b) => b.max));
    fast.mean.forEach((mean, k) => expect(mean).toBeCloseTo(slow[k]!.mean, 9));
    return slow;
  };

  it('matches a row-by-row computation when buckets are narrow', async () => {
    await compare(T0 + 3_333 * 60 * S, T0 + 9_999 * 60 * S, 1000);
  });

  it('matches a row-by-row computation exactly when buckets span many pages', async () => {
    // Bucket edges fall inside pages: those pages must be split row by row, not rounded to a bucket.
    const slow = await compare(T0 + 17 * 60 * S, T0 + 20_000 * 60 * S, 7);
    // each bucket spans many summary pages, so the summaries were used
    expect(Math.min(...slow.map((b) => b.count))).toBeGreaterThan(4 * 256);
  });

  it('keeps a one-sample spike visible over the whole span', async () => {
    const down = await dataset.downsample('CAB3', 'bms1_c', T0, T0 + 20_160 * 60 * S, 20);
    expect(down.t.length).toBeLessThanOrEqual(20);
    expect(Math.max(...down.max)).toBe(999);
    expect(down.max.filter((m) => m === 999)).toHaveLength(1);
    expect(Math.min(...down.min)).toBeCloseTo(-100, 1);
  });
});

describe('files that change under the engine', () => {
  it('drops a deleted signal, rebuilds a replaced one, and keeps serving the rest', async () => {
    const { rmSync, writeFileSync } = await import('node:fs');
    scratch.write(
      'CAB4',
      'bms1_soc',
      csv(
        'bms1_soc',
        series(60, 0, 600, () => 40),
      ),
    );
    scratch.write(
      'CAB4',
      'bms1_v',
      csv(
        'bms1_v',
        series(60, 0, 600, () => 800),
      ),
    );
    await dataset.refresh();
    expect(dataset.device('CAB4').signals.map((s) => s.signal)).toEqual(['bms1_soc', 'bms1_v']);
    rmSync(`${scratch.root}/CAB4/bms1_v.csv`);
    writeFileSync(
      `${scratch.root}/CAB4/bms1_soc.csv`,
      csv(
        'bms1_soc',
        series(60, 0, 300, () => 41),
      ),
    );
    await dataset.refresh();
    expect(dataset.device('CAB4').signals.map((s) => s.signal)).toEqual(['bms1_soc']);
    const page = await dataset.page('CAB4', 'bms', { skip: 0, limit: 100 });
    expect(page.records.every((r) => r.soc === 41 && r.voltage === null)).toBe(true);
    // Five readings a minute apart; the timeline stops at the newest of them.
    expect(page.total).toBe(5);
  });
});

describe('live tail', () => {
  it('picks up appended rows and tells listeners', async () => {
    const before = await dataset.page('CAB2', 'bms', { skip: 0, limit: 1000 });
    const seen: string[][] = [];
    const stop = dataset.onChange((c) => seen.push(c.devices.get('CAB2') ?? []));
    const path = `${scratch.root}/CAB2/bms1_soc.csv`;
    appendFileSync(
      path,
      series(60, 600, 900, () => 11)
        .map(([t, v]) => `${t},${v}\n`)
        .join(''),
    );
    await dataset.refresh();
    stop();
    expect(seen).toEqual([['bms1_soc']]);
    const after = await dataset.page('CAB2', 'bms', { skip: 0, limit: 1000 });
    expect(after.total).toBe(before.total + 5);
    // earlier records are unchanged; new ones carry the new value
    expect(after.records.slice(0, 10)).toEqual(before.records.slice(0, 10));
    expect(after.records.at(-1)!.soc).toBe(11);
  });
});

describe('page summaries after an append', () => {
  it('count the appended rows of the last, partial page', async () => {
    const path = `${scratch.root}/CAB9/bms1_soc.csv`;
    scratch.write(
      'CAB9',
      'bms1_soc',
      csv(
        'bms1_soc',
        series(60, 0, 300 * 60, () => 50),
      ),
    );
    await dataset.refresh();
    const signal = () => dataset.indexedSignal('CAB9', 'bms1_soc');
    const { generation } = signal();
    const before = signal().reader.summaries().slice(-6);
    expect(before[5]).toBe(300 - 256);
    appendFileSync(path, [0, 1, 2].map((k) => `${stamp(T0 + (300 + k) * 60 * S)},70\n`).join(''));
    await dataset.refresh();
    expect(signal().generation, 'appended, not rebuilt').toBe(generation);
    const after = signal().reader.summaries().slice(-6);
    expect([after[1], after[3], after[5]]).toEqual([T0 + 302 * 60 * S, 70, 300 - 256 + 3]);
  });
});
