import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { analyse, analysisType, ANALYSES, MAX_RANGE_MS, UNANSWERED, type AnalysisRange } from './ai-analysis.js';
import { BodyError, isRead, methodNotAllowed, readJsonBody, sendBodyError, sendDetail, sendJson } from './http-util.js';
import { GateFullError } from './ops/work-gate.js';
import { pathSegment, restPage, sendError } from './rest.js';
import { deviceId } from './schemas.js';
import type { Context } from './trpc.js';

/** The React prototype posts its last 100 records, about 100 KB. */
const MAX_BODY_BYTES = 2 * 1024 * 1024;
const MODEL = 'bess-analytics';

export const analyzeInput = z.object({
  json_data: z
    .looseObject({
      device_id: deviceId,
      data: z
        .array(z.looseObject({ timestamp: z.string().max(40) }))
        .max(10_000)
        .optional(),
    })
    .describe('What the prototype posted: a /bess page, `{ device_id, data: [records] }`'),
  prompt_type: z
    .string()
    .max(40)
    .describe(`One of ${Object.keys(ANALYSES).join(', ')}`),
  custom_prompt: z.string().max(20_000).nullish().describe('Refused (501): there is no language model to prompt'),
  model: z.string().max(100).optional().describe('Ignored; answers name the model `bess-analytics`'),
  max_tokens: z.number().int().optional().describe('Ignored'),
});

/**
 * The prototype's `/ai` routes: `GET /ai/prompts`, `POST /ai/analyze` and
 * `GET /ai/device-analysis/{device_id}`. Answers keep its shape (`analysis` Markdown, `model_used`,
 * `tokens_used`, `success`); questions only a language model answered get 501 saying what to use.
 */
export async function handleAiRest(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  ctx: Context,
): Promise<boolean> {
  const parts = url.pathname.split('/').filter(Boolean);
  if (parts[0] !== 'ai') return false;
  try {
    if (parts.length === 2 && parts[1] === 'prompts' && isRead(req)) {
      sendJson(res, 200, prompts());
      return true;
    }
    if (parts.length === 2 && parts[1] === 'analyze') {
      if (req.method !== 'POST') return methodNotAllowed(res, 'POST');
      const parsed = analyzeInput.safeParse(await readJsonBody(req, MAX_BODY_BYTES));
      if (!parsed.success) return bodyInvalid(res, parsed.error);
      const input = parsed.data;
      const type = answerable(res, input.prompt_type, input.custom_prompt);
      if (!type) return true;
      const id = input.json_data.device_id;
      const range = rangeOf(ctx, id, input.json_data.data);
      sendJson(res, 200, await result(ctx, id, type, range));
      return true;
    }
    if (parts.length === 3 && parts[1] === 'device-analysis' && isRead(req)) {
      const id = pathSegment(parts[2]!, 'device_id');
      const type = answerable(res, url.searchParams.get('prompt_type') ?? '', url.searchParams.get('custom_prompt'));
      if (!type) return true;
      const page = await restPage(ctx, 'bms', url, id);
      const range = rangeOf(ctx, id, page.records);
      sendJson(res, 200, {
        device_id: id,
        records_analyzed: page.records.length,
        analysis_result: await result(ctx, id, type, range),
      });
      return true;
    }
    return false;
  } catch (error) {
    if (error instanceof BodyError) sendBodyError(res, error);
    else if (error instanceof GateFullError) sendDetail(res, 429, error.message);
    else sendError(res, error);
    return true;
  }
}

function bodyInvalid(res: ServerResponse, error: z.ZodError): true {
  sendDetail(
    res,
    422,
    error.issues.map((i) => ({ loc: ['body', ...i.path.map(String)], msg: i.message, type: i.code })),
  );
  return true;
}

/** The analysis asked for, or false once a 422 or 501 has said why there is none. */
function answerable(res: ServerResponse, promptType: string, customPrompt: string | null | undefined) {
  const type = analysisType(promptType);
  if (type && !customPrompt) return type;
  const known = [...Object.keys(ANALYSES), ...UNANSWERED] as string[];
  if (!customPrompt && !known.includes(promptType)) {
    sendDetail(res, 422, [
      { loc: ['body', 'prompt_type'], msg: `expected one of ${Object.keys(ANALYSES).join(', ')}`, type: 'enum' },
    ]);
    return false;
  }
  sendDetail(
    res,
    501,
    `${customPrompt ? 'a custom prompt' : `prompt_type ${promptType}`} needs a language model, which this server does not ` +
      `run. Ask for ${Object.keys(ANALYSES).join(', ')} here, or read the data (GET /bess/{device_id}, ` +
      'GET /bms/{device_id}/export.csv) and the analytics (tRPC analytics.anomalies, analytics.forecast, analytics.rul).',
  );
  return false;
}

/** The posted records' span (the last MAX_RANGE_MS of it), or the device's last day when none were posted. */
function rangeOf(ctx: Context, id: string, records: readonly { timestamp: string }[] | undefined): AnalysisRange {
  const info = ctx.dataset.device(id);
  const times = (records ?? [])
    .map((r) => Date.parse(/[zZ]|[+-]\d\d:\d\d$/.test(r.timestamp) ? r.timestamp : `${r.timestamp.replace(' ', 'T')}Z`))
    .filter(Number.isFinite);
  const last = info.last ?? Date.now();
  const to = times.length ? Math.max(...times) : last;
  const from = times.length ? Math.min(...times) : to - 86_400_000;
  const clipped = to - from > MAX_RANGE_MS;
  return { from: clipped ? to - MAX_RANGE_MS : from, to, clipped, ...(records ? { records: records.length } : {}) };
}

async function result(ctx: Context, id: string, type: keyof typeof ANALYSES, range: AnalysisRange) {
  // A report scans up to a week of readings: it waits for the work gate like the heavy tRPC queries.
  const analysis = await ctx.workGate.run(ctx.clientId, () => analyse(ctx.dataset, id, type, range));
  return { analysis, prompt_type: type, model_used: MODEL, tokens_used: null, success: true };
}

function prompts() {
  return {
    available_prompts: ANALYSES,
    not_available: Object.fromEntries(UNANSWERED.map((t) => [t, 'needs a language model; answered 501'])),
    usage: {
      endpoint: '/ai/analyze',
      method: 'POST',
      parameters: {
        json_data: 'A /bess page: { device_id, data: [records] }; the records set the period analysed',
        prompt_type: Object.keys(ANALYSES).join(' | '),
      },
    },
    example_request: { json_data: { device_id: 'ZHPESS232A230002', data: [] }, prompt_type: 'anomaly' },
  };
}
