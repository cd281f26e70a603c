import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BessServer } from './server.js';
import { startSampleServer } from './test-support/server.js';

/** The prototype's /ai routes, called as its React dashboard calls them. */
const DEVICE = 'ZHPESS232A230002';
let server: BessServer;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ server, stop } = await startSampleServer());
});
afterAll(() => stop());

interface Analysis {
  analysis: string;
  prompt_type: string;
  model_used: string;
  tokens_used: number | null;
  success: boolean;
}

/** What the prototype's Forecast and Report pages post: the last 100 records of a /bess page. */
async function postAnalysis(promptType: string, extra: Record<string, unknown> = {}) {
  const page = (await (await fetch(`${server.url}/bess/${DEVICE}?batch_size=1000&date=2024-03`)).json()) as {
    data: { timestamp: string }[];
  };
  const json_data = { ...page, data: page.data.slice(-100), total_records: 100, batch_size: 100 };
  return fetch(`${server.url}/ai/analyze`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ json_data, prompt_type: promptType, model: 'gpt-4o-mini', max_tokens: 2000, ...extra }),
  });
}

describe('the prototype’s /ai routes, answered by the analytics', () => {
  it('answers each question type in the shape the dashboard renders, over the posted records’ period', async () => {
    for (const type of ['anomaly', 'performance', 'degradation', 'safety', 'forecasting', 'health']) {
      const res = await postAnalysis(type);
      expect(res.status, type).toBe(200);
      const body = (await res.json()) as Analysis;
      expect(body.success).toBe(true);
      expect(body.model_used).toBe('bess-analytics');
      expect(body.tokens_used).toBeNull();
      expect(body.analysis).toContain(`analysis: ${DEVICE}`);
      // The last 100 one-minute records of March 2024 in the sample.
      expect(body.analysis).toMatch(
        /Period: 2024-03-\d\d \d\d:\d\d to 2024-03-\d\d \d\d:\d\d UTC \(100 records posted\)/,
      );
    }
  });

  it('reports the figures of the data, not canned text', async () => {
    const performance = ((await (await postAnalysis('performance')).json()) as Analysis).analysis;
    const soc = /\| SOC, % \| ([\d.]+) \| ([\d.]+) \|/.exec(performance);
    expect(soc).not.toBeNull();
    const page = (await (await fetch(`${server.url}/bess/${DEVICE}?batch_size=1000&date=2024-03`)).json()) as {
      data: { bms_soc: number | null }[];
    };
    const socs = page.data
      .slice(-100)
      .map((r) => r.bms_soc)
      .filter((v): v is number => v !== null);
    expect(Number(soc![1])).toBeCloseTo(Math.min(...socs), 1);
    expect(Number(soc![2])).toBeCloseTo(Math.max(...socs), 1);
  });

  it('says what to use instead where the prototype needed a language model', async () => {
    for (const [type, extra] of [
      ['regulatory', {}],
      ['financial', {}],
      ['anomaly', { custom_prompt: 'Write a poem about batteries' }],
    ] as const) {
      const res = await postAnalysis(type, extra);
      expect(res.status).toBe(501);
      expect(((await res.json()) as { detail: string }).detail).toMatch(/language model.*analytics\.anomalies/);
    }
  });

  it('refuses bad bodies with typed errors', async () => {
    const post = (body: string) =>
      fetch(`${server.url}/ai/analyze`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    expect((await post('{"json_data":')).status).toBe(400);
    expect((await post('[]')).status).toBe(400);
    const invalid = await post(JSON.stringify({ json_data: { device_id: '../etc' }, prompt_type: 'anomaly' }));
    expect(invalid.status).toBe(422);
    expect(((await invalid.json()) as { detail: { loc: string[] }[] }).detail[0]!.loc).toEqual([
      'body',
      'json_data',
      'device_id',
    ]);
    expect((await post(JSON.stringify({ json_data: { device_id: DEVICE }, prompt_type: 'poetry' }))).status).toBe(422);
    const unknown = await post(JSON.stringify({ json_data: { device_id: 'NO_SUCH_CABINET' }, prompt_type: 'anomaly' }));
    expect(unknown.status).toBe(404);
    expect((await post('x'.repeat(3 * 1024 * 1024))).status).toBe(413);
    expect((await fetch(`${server.url}/ai/analyze`)).status).toBe(405);
  });

  it('lists the questions it answers, and analyses a device’s page by its id', async () => {
    const prompts = (await (await fetch(`${server.url}/ai/prompts`)).json()) as {
      available_prompts: Record<string, string>;
    };
    expect(Object.keys(prompts.available_prompts)).toEqual([
      'anomaly',
      'performance',
      'degradation',
      'safety',
      'forecasting',
    ]);
    const res = await fetch(
      `${server.url}/ai/device-analysis/${DEVICE}?prompt_type=safety&batch_size=50&date=2024-03-02`,
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { device_id: string; records_analyzed: number; analysis_result: Analysis };
    expect(body.device_id).toBe(DEVICE);
    expect(body.records_analyzed).toBe(50);
    expect(body.analysis_result.analysis).toContain('Period: 2024-03-02 00:00 to 2024-03-02 00:49 UTC');
  });
});
