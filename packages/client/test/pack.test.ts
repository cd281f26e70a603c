import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createBessServer, type BessServer } from '@bess/api';
import { openDataset, type BessDataset } from '@bess/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The client as an integrator gets it: packed with pnpm, installed with npm into an empty
 * project outside the repository, type-checked under `strict` without `skipLibCheck`, and run
 * against a real server on the committed sample.
 */
const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const packageDir = resolve(here, '..');
const SAMPLE = resolve(packageDir, '../../data');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

const CONSUMER = `import WebSocket from 'ws';
import { createBessClient, type BmsRecord, type PcsRecord } from '@bess/client';

const bess = createBessClient({ url: process.argv[2]!, WebSocket });
const devices = await bess.api.bms.devices.query();
const deviceId = devices[0]!.id;
const page = await bess.api.bms.batch.query({ deviceId, batchSize: 5, skip: 10 });
const first: BmsRecord = page.records[0]!;
const soc: number | null = first.soc;
const pcs = await bess.api.pcs.batch.query({ deviceId, batchSize: 1, skip: 10 });
const power: number | null = (pcs.records[0] as PcsRecord).apparent_power;
const streamed = await new Promise<number | null>((done, fail) => {
  const subscription = bess.api.bms.stream.subscribe(
    { deviceId, interval: 0.1, from: first.timestamp },
    {
      onData(event) {
        subscription.unsubscribe();
        done(event.data.soc);
      },
      onError: fail,
    },
  );
});
console.log(JSON.stringify({ devices: devices.map((d) => d.id), total: page.total, timestamp: first.timestamp, soc, power, streamed }));
bess.close();
`;

const TYPO = `import type { BmsRecord } from '@bess/client';

export function soc(rec: BmsRecord): number | null {
  return rec.bms_soc;
}
`;

let work: string;
let tarball: string;
let indexDir: string;
let dataset: BessDataset;
let server: BessServer;

/** pnpm as the test was started with (turbo runs it under pnpm), else the same major from the registry. */
function pnpm(args: string[], cwd: string) {
  const execPath = process.env.npm_execpath;
  return execPath && /pnpm/.test(execPath)
    ? run(process.execPath, [execPath, ...args], { cwd })
    : run('npx', ['-y', 'pnpm@10', ...args], { cwd });
}

async function typecheck(files: string[]) {
  writeFileSync(
    join(work, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        skipLibCheck: false,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        lib: ['es2022', 'dom'],
        types: ['node'],
        outDir: 'out',
      },
      files,
    }),
  );
  return run(process.execPath, [tsc, '-p', work], { cwd: work });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'bess-client-consumer-'));
  await pnpm(['pack', '--pack-destination', work], packageDir);
  tarball = readdirSync(work).find((f) => f.endsWith('.tgz'))!;
  writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  await run(
    'npm',
    ['install', '--no-audit', '--no-fund', `./${tarball}`, 'ws@^8.18.0', '@types/ws@^8.18.0', '@types/node@^20.19.0'],
    { cwd: work },
  );
  indexDir = mkdtempSync(join(tmpdir(), 'bess-client-index-'));
  dataset = await openDataset(SAMPLE, { indexDir, workers: 0 });
  server = await createBessServer({ dataset, port: 0, host: '127.0.0.1', limits: null });
}, 240_000);

afterAll(async () => {
  await server?.close();
  await dataset?.close();
  for (const dir of [work, indexDir]) if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('@bess/client from its packed tarball', () => {
  it('ships built JavaScript and declarations only, with resolved dependency versions', async () => {
    const { stdout } = await run('tar', ['-tzf', join(work, tarball)]);
    expect(stdout.trim().split('\n').sort()).toEqual([
      'package/LICENSE',
      'package/README.md',
      'package/dist/index.d.ts',
      'package/dist/index.js',
      'package/package.json',
    ]);
    const manifest = JSON.parse(readFileSync(join(work, 'node_modules/@bess/client/package.json'), 'utf8')) as {
      private?: boolean;
      dependencies: Record<string, string>;
    };
    expect(manifest.private).toBeUndefined();
    for (const version of Object.values(manifest.dependencies)) expect(version).toMatch(/^\^?\d+\.\d+\.\d+/);
    // Nothing of the server is installed with it.
    expect(readdirSync(join(work, 'node_modules/@bess'))).toEqual(['client']);
  });

  it('type-checks strictly and lists devices, pages a batch and streams typed records', async () => {
    writeFileSync(join(work, 'consumer.ts'), CONSUMER);
    await typecheck(['consumer.ts']);
    const { stdout } = await run(process.execPath, [join(work, 'out/consumer.js'), server.url], { cwd: work });
    const result = JSON.parse(stdout) as {
      devices: string[];
      total: number;
      timestamp: string;
      soc: number | null;
      power: number | null;
      streamed: number | null;
    };
    expect(result.devices).toEqual(dataset.devices().map((d) => d.id));
    const expected = await dataset.page(result.devices[0]!, 'bms', { skip: 10, limit: 1 });
    expect(result.total).toBe(expected.total);
    expect(result.timestamp).toBe(expected.records[0]!.timestamp);
    expect(result.soc).toBe(expected.records[0]!.soc);
    expect(result.soc).toEqual(expect.any(Number));
    // The stream replays from the page's first record: the same reading arrives over the WebSocket.
    expect(result.streamed).toBe(result.soc);
    const pcs = await dataset.page(result.devices[0]!, 'pcs', { skip: 10, limit: 1 });
    expect(result.power).toBe(pcs.records[0]!.apparent_power);
  });

  it('refuses a field the BMS record does not have', async () => {
    writeFileSync(join(work, 'typo.ts'), TYPO);
    const failure = await typecheck(['typo.ts']).then(
      () => null,
      (error: { stdout: string }) => error.stdout,
    );
    expect(failure).toMatch(/typo\.ts\(4,\d+\): error TS2339: Property 'bms_soc' does not exist on type 'BmsRecord'/);
  });
});
