import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allCellSignals, cabinetSignals, CABINET } from '../catalog.js';
import { openDataset } from '../dataset.js';
import { scratchRoot } from '../test-support/tmp.js';
import { generateDataset, type FaultLabel } from './index.js';

const scratches: ReturnType<typeof scratchRoot>[] = [];
function fresh() {
  const s = scratchRoot();
  scratches.push(s);
  return s.root;
}
afterAll(() => scratches.forEach((s) => s.remove()));

describe('generateDataset', () => {
  it('is deterministic: same seed, same bytes; another seed, other bytes', async () => {
    const [a, b, c] = [fresh(), fresh(), fresh()];
    await generateDataset({ root: a, devices: 1, days: 1, seed: 7, workers: 0 });
    await generateDataset({ root: b, devices: 1, days: 1, seed: 7, workers: 0 });
    await generateDataset({ root: c, devices: 1, days: 1, seed: 8, workers: 0 });
    const read = (root: string) => readFileSync(join(root, 'ZHPESS232A230002', 'bms1_soc.csv'), 'utf8');
    expect(read(a)).toBe(read(b));
    expect(read(a)).not.toBe(read(c));
  });

  it('writes the real layout: one file per catalogued signal with a ts,<signal> header', async () => {
    const root = fresh();
    await generateDataset({ root, devices: 2, days: 1, cells: ['ZHPESS232A230003'], workers: 0 });
    const plain = readdirSync(join(root, 'ZHPESS232A230002')).sort();
    expect(plain).toEqual(
      cabinetSignals(false)
        .map((s) => `${s.signal}.csv`)
        .sort(),
    );
    const withCells = readdirSync(join(root, 'ZHPESS232A230003'));
    expect(withCells).toHaveLength(plain.length + allCellSignals().length);
    const text = readFileSync(join(root, 'ZHPESS232A230002', 'pcs1_ap.csv'), 'utf8');
    expect(text.split('\n')[0]).toBe('ts,pcs1_ap');
    expect(text.split('\n')[1]).toMatch(/^2024-03-01 \d\d:\d\d:\d\d,-?\d+\.\d$/);
  });

  it('produces physics an operator would recognise, at the catalogue’s rates', async () => {
    const root = fresh();
    await generateDataset({ root, devices: 1, days: 4, seed: 3, workers: 0 });
    const ds = await openDataset(root, { workers: 0 });
    const id = ds.devices()[0]!.id;
    const info = ds.device(id);
    const period = (s: string) => info.signals.find((x) => x.signal === s)!.medianPeriodMs;
    expect(period('pcs1_ap')).toBe(30_000);
    expect(period('bms1_soc')).toBe(60_000);
    expect(Math.abs(period('bms1_soh')! / 3_600_000 - 1)).toBeLessThan(0.01);
    const page = await ds.page(id, 'bms', { skip: 0, limit: 4 * 1440 });
    const rows = page.records.filter(
      (r) => r.soc !== null && r.cell_max_voltage !== null && r.cell_avg_voltage !== null,
    );
    expect(rows.length).toBeGreaterThan(4000);
    const packVsCells: number[] = [];
    for (const r of rows) {
      packVsCells.push(Math.abs((r.voltage as number) - (r.cell_avg_voltage as number) * CABINET.cellsInSeries));
      expect(r.soc as number).toBeGreaterThanOrEqual(0);
      expect(r.soc as number).toBeLessThanOrEqual(100);
      // max >= avg >= min, within what a minute between their samples can move
      expect(r.cell_max_voltage as number).toBeGreaterThanOrEqual((r.cell_avg_voltage as number) - 0.01);
      expect(r.cell_avg_voltage as number).toBeGreaterThanOrEqual((r.cell_min_voltage as number) - 0.01);
    }
    // pack voltage is the sum of 260 cells (the two are logged up to a minute apart)
    packVsCells.sort((a, b) => a - b);
    expect(packVsCells[packVsCells.length >> 1]).toBeLessThan(1);
    expect(packVsCells.at(-1)).toBeLessThan(15);
    // SOC integrates current: over an hour of steady discharge SOC falls by about I*h/314 Ah
    const soc = rows.map((r) => r.soc as number);
    expect(Math.max(...soc) - Math.min(...soc)).toBeGreaterThan(40);
    let checked = 0;
    for (let i = 0; i + 60 < rows.length; i += 30) {
      const window = rows.slice(i, i + 61);
      const meanCurrent = window.reduce((s, r) => s + (r.current as number), 0) / window.length;
      const drop = (window[0]!.soc as number) - (window[60]!.soc as number);
      if (Math.abs(meanCurrent) < 30 || (window[0]!.soc as number) < 10 || (window[0]!.soc as number) > 95) continue;
      expect(drop).toBeCloseTo((meanCurrent / 314) * 100 * (100 / (window[0]!.soh as number)), 0);
      checked++;
    }
    expect(checked).toBeGreaterThan(5);
    await ds.close();
  });

  it('injects the labelled faults inside their windows, and only there', async () => {
    const root = fresh();
    const report = await generateDataset({
      root,
      devices: 1,
      days: 7,
      seed: 11,
      cells: true,
      cellPeriodS: 600,
      faults: 'default',
      workers: 0,
    });
    const labels = JSON.parse(readFileSync(join(root, 'faults.json'), 'utf8')) as FaultLabel[];
    expect(labels.map((l) => l.kind).sort()).toEqual([
      'cell_overtemp',
      'current_spike',
      'offline_gap',
      'phase_imbalance',
      'sensor_stuck',
      'weak_cell_voltage',
    ]);
    expect(report.faults).toEqual(labels);
    const ds = await openDataset(root, { workers: 0 });
    const id = ds.devices()[0]!.id;
    const window = (kind: string) => {
      const l = labels.find((x) => x.kind === kind)!;
      return [Date.parse(l.start), Date.parse(l.end)] as const;
    };
    const max = async (signal: string, [a, b]: readonly [number, number]) =>
      Math.max(...(await ds.readSignal(id, signal, a, b)).v);
    const min = async (signal: string, [a, b]: readonly [number, number]) =>
      Math.min(...(await ds.readSignal(id, signal, a, b)).v);
    const hot = window('cell_overtemp');
    expect(await max('bms1_cell_max_t', hot)).toBeGreaterThan(55);
    expect(await max('bms1_cell_max_t', [hot[0] - 86_400_000, hot[0] - 3_600_000])).toBeLessThan(45);
    expect(await min('bms1_cell_min_v', window('weak_cell_voltage'))).toBeLessThan(2.8);
    expect(await max('bms1_c', window('current_spike'))).toBeGreaterThan(500);
    const stuck = await ds.readSignal(id, 'bms1_cell_ave_t', ...window('sensor_stuck'));
    expect(new Set(stuck.v).size).toBe(1);
    expect(stuck.v.length).toBeGreaterThan(100);
    // The label says what the sensor would have logged: six hours of the daily cycle, at 0.1 °C.
    const truth = labels.find((l) => l.kind === 'sensor_stuck')!.truth!;
    expect(truth.resolution).toBeCloseTo(0.1);
    expect(truth.max - truth.min).toBeGreaterThan(1);
    expect(stuck.v[0]).toBeGreaterThanOrEqual(truth.min);
    expect(stuck.v[0]).toBeLessThanOrEqual(truth.max);
    const [ia, ib] = await Promise.all(
      ['pcs1_ia', 'pcs1_ib'].map((s) => ds.readSignal(id, s, ...window('phase_imbalance'))),
    );
    const meanRatio = ia!.v.reduce((a, b) => a + b, 0) / ib!.v.reduce((a, b) => a + b, 0);
    expect(meanRatio).toBeGreaterThan(1.25);
    const gap = window('offline_gap');
    expect((await ds.readSignal(id, 'pcs1_ap', gap[0], gap[1] - 1)).t.length).toBe(0);
    await ds.close();
  });

  it('writes each kind of dirt when asked, and clean files when not', async () => {
    const [dirty, clean] = [fresh(), fresh()];
    await generateDataset({ root: dirty, devices: 1, days: 2, dirt: true, workers: 0 });
    await generateDataset({ root: clean, devices: 1, days: 2, dirt: false, workers: 0 });
    const file = (root: string, s: string) => readFileSync(join(root, 'ZHPESS232A230002', `${s}.csv`), 'utf8');
    expect(file(dirty, 'bms1_soc').charCodeAt(0)).toBe(0xfeff);
    expect(file(dirty, 'bms1_v')).toContain('\r\n');
    expect(file(dirty, 'pcs1_t_igbt').split('\n')[1]).toMatch(/T.*Z,/);
    expect(file(dirty, 'bms1_soh').endsWith('\n')).toBe(false);
    const ds = await openDataset(dirty, { workers: 0 });
    const quality = (s: string) => ds.device('ZHPESS232A230002').signals.find((x) => x.signal === s)!.quality;
    expect(quality('pcs1_ap').rejected.empty_value + quality('pcs1_ap').rejected.non_numeric).toBeGreaterThan(0);
    expect(quality('bms1_c').rejected.duplicate).toBeGreaterThan(0);
    expect(quality('pcs1_dcv').outOfOrder).toBeGreaterThan(0);
    expect(quality('dh1_humi').rejected.blank_line).toBeGreaterThan(0);
    await ds.close();
    for (const s of ['bms1_soc', 'bms1_v', 'pcs1_ap', 'bms1_soh']) {
      const text = file(clean, s);
      expect(text.charCodeAt(0)).not.toBe(0xfeff);
      expect(text).not.toContain('\r');
      expect(text).not.toMatch(/NaN|err|,\n/);
      expect(text.endsWith('\n')).toBe(true);
    }
  });
});
