import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import openapiTS, { astToString } from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { componentSchema } from './openapi-schemas.js';
import type { BessServer } from './server.js';
import { startSampleServer } from './test-support/server.js';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DEVICE = 'ZHPESS232A230002';

let server: BessServer;
let stop: () => Promise<void>;
let work: string;
let doc: OpenApi;

interface Operation {
  responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }>;
}
type OpenApi = { paths: Record<string, Record<string, Operation>> };

beforeAll(async () => {
  ({ server, stop } = await startSampleServer());
  work = mkdtempSync(join(tmpdir(), 'bess-openapi-'));
  doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as OpenApi;
  writeFileSync(join(work, 'openapi.json'), JSON.stringify(doc));
});

afterAll(async () => {
  await stop();
  rmSync(work, { recursive: true, force: true });
});

/** The component the document names for a route's answer with `status`. */
function documented(path: string, status: string, type = 'application/json', method = 'get') {
  const ref = doc.paths[path]?.[method]?.responses[status]?.content?.[type]?.schema.$ref;
  expect(ref, `${path} ${status}`).toMatch(/^#\/components\/schemas\//);
  return componentSchema.get(ref!.split('/').pop()!)!;
}

/** The first `data:` event of an SSE answer. */
async function firstEvent(url: string): Promise<unknown> {
  const controller = new AbortController();
  const res = await fetch(url, { signal: controller.signal });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error('stream ended before an event');
    text += value;
    const data = /^data: (.*)$/m.exec(text);
    if (data && text.includes('\n\n', data.index)) {
      controller.abort();
      return JSON.parse(data[1]!);
    }
  }
}

describe('the OpenAPI document', () => {
  it("passes Redocly's recommended rules with no errors", async () => {
    const redocly = join(packageDir, 'node_modules/.bin/redocly');
    const { stdout } = await run(redocly, ['lint', '--format=json', join(work, 'openapi.json')], {
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    }).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
    const report = JSON.parse(stdout) as { totals: { errors: number; warnings: number }; problems: unknown[] };
    expect(report.problems.filter((p) => (p as { severity: string }).severity === 'error')).toEqual([]);
    expect(report.totals.errors).toBe(0);
    // The two warnings left are the probes, which have no 4xx answer to document.
    expect(report.totals.warnings).toBeLessThanOrEqual(2);
  });

  it('describes every answer exactly, field for field', async () => {
    const cases: [path: string, url: string, status: string][] = [
      ['/health', '/health', '200'],
      ['/ready', '/ready', '200'],
      ['/bms/devices', '/bms/devices', '200'],
      ['/pcs/devices', '/pcs/devices', '200'],
      ['/bms/{device_id}', `/bms/${DEVICE}?batch_size=3&skip=100`, '200'],
      ['/pcs/{device_id}', `/pcs/${DEVICE}?batch_size=3&date=2024-03-02`, '200'],
      ['/bess/devices', '/bess/devices', '200'],
      ['/bess/{device_id}', `/bess/${DEVICE}?batch_size=2&skip=500`, '200'],
      ['/bms/{device_id}', '/bms/NO_SUCH_CABINET', '404'],
      ['/bms/{device_id}', `/bms/${DEVICE}?batch_size=0`, '422'],
      ['/bess/{device_id}', `/bess/${DEVICE}?date=2024-13`, '422'],
      ['/ai/prompts', '/ai/prompts', '200'],
      ['/ai/device-analysis/{device_id}', `/ai/device-analysis/${DEVICE}?prompt_type=anomaly&batch_size=30`, '200'],
      ['/ai/device-analysis/{device_id}', `/ai/device-analysis/${DEVICE}?prompt_type=financial`, '501'],
    ];
    for (const [path, url, status] of cases) {
      const res = await fetch(`${server.url}${url}`);
      expect(String(res.status), url).toBe(status);
      const body: unknown = await res.json();
      // zod drops keys it does not know: an answer equal to its parse has no undocumented field.
      expect(documented(path, status).parse(body), url).toEqual(body);
    }
    for (const [promptType, status] of [
      ['performance', '200'],
      ['regulatory', '501'],
      ['poetry', '422'],
    ]) {
      const res = await fetch(`${server.url}/ai/analyze`, {
        method: 'POST',
        body: JSON.stringify({ json_data: { device_id: DEVICE, data: [] }, prompt_type: promptType }),
      });
      expect(String(res.status)).toBe(status);
      const body: unknown = await res.json();
      expect(documented('/ai/analyze', status!, 'application/json', 'post').parse(body)).toEqual(body);
    }
    for (const kind of ['bms', 'pcs', 'bess']) {
      const event = await firstEvent(`${server.url}/${kind}/${DEVICE}/stream?interval=0.1`);
      expect(documented(`/${kind}/{device_id}/stream`, '200', 'text/event-stream').parse(event)).toEqual(event);
    }
  });

  it('generates a client with openapi-typescript that type-checks and calls devices, batch and stream', async () => {
    const ast = await openapiTS(doc as unknown as Parameters<typeof openapiTS>[0]);
    writeFileSync(join(work, 'schema.d.ts'), astToString(ast));
    writeFileSync(
      join(work, 'client.ts'),
      `import createClient from 'openapi-fetch';
import type { paths } from './schema.js';

const api = createClient<paths>({ baseUrl: process.argv[2]! });
const devices = await api.GET('/bms/devices');
if (!devices.data) throw new Error('no devices');
const deviceId: string = devices.data.devices[0]!;
const page = await api.GET('/bms/{device_id}', { params: { path: { device_id: deviceId }, query: { batch_size: 3, skip: 7 } } });
if (!page.data) throw new Error('no page');
const soc: number | null = page.data.data[0]!.soc;
const missing = await api.GET('/bms/{device_id}', { params: { path: { device_id: 'NO_SUCH_CABINET' } } });
// 404 and 422 answers are typed apart: a Problem's detail is text, a validation's a list.
const reason = missing.error?.detail;
const detail: string | undefined = typeof reason === 'string' ? reason : undefined;
const stream = await api.GET('/bms/{device_id}/stream', {
  params: { path: { device_id: deviceId }, query: { interval: 0.1, from: page.data.data[0]!.timestamp } },
  parseAs: 'stream',
});
const reader = stream.response.body!.pipeThrough(new TextDecoderStream()).getReader();
let text = '';
while (!/^data: .*\\n\\n/m.test(text)) text += (await reader.read()).value ?? '';
await reader.cancel();
const streamed = JSON.parse(/^data: (.*)$/m.exec(text)![1]!) as { soc: number | null };
console.log(JSON.stringify({ deviceId, total: page.data.total_records, soc, detail, streamed: streamed.soc }));
`,
    );
    writeFileSync(
      join(work, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          skipLibCheck: false,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          lib: ['es2022', 'dom', 'dom.asynciterable'],
          types: ['node'],
          outDir: 'out',
        },
        files: ['client.ts'],
      }),
    );
    writeFileSync(join(work, 'package.json'), JSON.stringify({ type: 'module' }));
    symlinkSync(join(packageDir, 'node_modules'), join(work, 'node_modules'));
    await run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', work]).catch(
      (error: { stdout: string }) => {
        throw new Error(`the generated client does not type-check:\n${error.stdout}`);
      },
    );
    const { stdout } = await run(process.execPath, [join(work, 'out/client.js'), server.url]);
    const result = JSON.parse(stdout) as {
      deviceId: string;
      total: number;
      soc: number;
      detail: string;
      streamed: number;
    };
    expect(result.deviceId).toBe(DEVICE);
    expect(result.total).toBeGreaterThan(1000);
    expect(result.soc).toEqual(expect.any(Number));
    expect(result.detail).toMatch(/NO_SUCH_CABINET/);
    // Replayed from the page's first record, the stream's first event is that record.
    expect(result.streamed).toBe(result.soc);
  });

  it('is readable in ReDoc and Swagger UI, served from their packages', async () => {
    const redoc = await fetch(`${server.url}/redoc`);
    expect(redoc.status).toBe(200);
    expect(await redoc.text()).toContain('<redoc spec-url="/openapi.json">');
    const bundle = await fetch(`${server.url}/redoc/redoc.standalone.js`);
    expect(bundle.status).toBe(200);
    expect(Number(bundle.headers.get('content-length'))).toBeGreaterThan(500_000);
    expect((await fetch(`${server.url}/docs/swagger-ui-bundle.js`)).status).toBe(200);
  });
});
