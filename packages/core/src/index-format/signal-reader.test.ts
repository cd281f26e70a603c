import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { indexPaths } from './index-files.js';
import { indexSignalFile } from '../ingest/indexer.js';
import { csv, scratchRoot, stamp } from '../test-support/tmp.js';
import { BlockCache, SignalReader } from './signal-reader.js';

const scratch = scratchRoot();
afterAll(() => scratch.remove());
const T0 = Date.UTC(2024, 2, 1);

describe('SignalReader as-of lookups', () => {
  // Bursts (1 s apart among 60 s readings) put rows later than the period predicts, so the
  // lookup walks forward; outages (hours) put them earlier, so it walks back.
  for (const [name, burst, outage] of [
    ['bursts', 0.45, 0],
    ['outages', 0, 0.02],
  ] as const) {
    it(`finds the last reading at or before any time, whether the period's guess of the page is right or not (${name})`, async () => {
      let seed = 7;
      const rnd = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
      const times: number[] = [];
      let t = T0;
      for (let i = 0; i < 3 * 4096 + 300; i++) {
        const r = rnd();
        t += r < burst ? 1000 : r < burst + outage ? 3 * 3_600_000 : 60_000;
        times.push(t);
      }
      const csvPath = scratch.write(
        name,
        'bms1_soc',
        csv(
          'bms1_soc',
          times.map((x, i) => [stamp(x), i % 100]),
        ),
      );
      const job = {
        csvPath,
        indexDir: join(scratch.root, '.bess-index'),
        deviceId: name,
        signal: 'bms1_soc',
        utcOffsetMs: 0,
      };
      const { meta } = await indexSignalFile(job);
      expect(meta.medianPeriodMs).toBe(60_000);
      const naive = (x: number) => {
        let i = -1;
        while (i + 1 < times.length && times[i + 1]! <= x) i++;
        return i;
      };
      const probes = [
        T0,
        times[0]! - 1,
        times[0]!,
        times.at(-1)!,
        times.at(-1)! + 1,
        ...Array.from({ length: 300 }, () => T0 + rnd() * (times.at(-1)! - T0 + 5_000)),
      ];
      const bin = indexPaths(job.indexDir, name, 'bms1_soc').bin;
      // A fresh reader with an empty cache for each probe takes the page path; a warm one, the block path.
      for (const x of probes)
        expect(new SignalReader(bin, meta, new BlockCache(1 << 20)).indexAtOrBefore(x)).toBe(naive(x));
      const warm = new SignalReader(bin, meta, new BlockCache(1 << 24));
      for (let b = 0; b * 4096 < meta.rows; b++) warm.block(b);
      for (const x of probes) expect(warm.indexAtOrBefore(x)).toBe(naive(x));
      const i = naive(times[5000]! + 10);
      expect(warm.time(i)).toBe(times[5000]);
      expect(warm.value(i)).toBe(5000 % 100);
    });
  }
});
