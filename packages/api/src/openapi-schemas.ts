import { ANOMALY_KINDS, SEVERITY_RANK, type Severity } from '@bess/core';
import { z } from 'zod';
import { PROTOTYPE_FIELDS, PROTOTYPE_FLAGS } from './prototype-fields.js';
import { RECORD_SCHEMAS } from './schemas.js';

/**
 * What the REST routes answer, as zod schemas registered under their OpenAPI component names.
 * The document refers to them by `$ref`; the tests parse real answers with them, so the
 * document cannot drift from what the server sends.
 */
const components = z.registry<{ id: string }>();
/** Component name -> schema, for checking an answer against what the document says of it. */
export const componentSchema = new Map<string, z.ZodType>();

function component<S extends z.ZodType>(id: string, schema: S): S {
  components.add(schema, { id });
  componentSchema.set(id, schema);
  return schema;
}

const isoTime = z.string().describe('ISO 8601, UTC');
const severity = z.enum(Object.keys(SEVERITY_RANK) as [Severity, ...Severity[]]);

export const problem = component(
  'Problem',
  z.object({ detail: z.string() }).meta({ examples: [{ detail: 'unknown device: ZHPESS232A230099' }] }),
);
export const validationProblem = component(
  'ValidationProblem',
  z
    .object({
      detail: z.array(
        z.object({
          loc: z.array(z.string()).describe('["query", parameter] or ["path", parameter]'),
          msg: z.string(),
          type: z.string(),
        }),
      ),
    })
    .meta({
      examples: [
        { detail: [{ loc: ['query', 'batch_size'], msg: 'Too big: expected number to be <=1000', type: 'too_big' }] },
      ],
    }),
);

export const bmsReading = component(
  'BMSReading',
  RECORD_SCHEMAS.bms.meta({
    examples: [
      {
        timestamp: '2024-06-14T12:00:00Z',
        soc: 63.2,
        soh: 98.6,
        voltage: 848.1,
        current: -121.4,
        cell_avg_voltage: 3.262,
        cell_avg_temp: 27.4,
        cell_max_voltage: 3.281,
        cell_min_voltage: 3.247,
        cell_voltage_diff: 0.034,
        cell_temp_diff: 3.1,
        cell_max_temp: 29,
        cell_min_temp: 25.9,
      },
    ],
  }),
);
export const pcsReading = component(
  'PCSReading',
  RECORD_SCHEMAS.pcs.meta({
    examples: [
      {
        timestamp: '2024-06-14T12:00:00Z',
        apparent_power: -101.3,
        dc_current: -121.9,
        dc_voltage: 847.6,
        ac_current_a: 146.2,
        ac_current_b: 145.8,
        ac_current_c: 146.5,
        ac_voltage_ab: 400.2,
        ac_voltage_bc: 399.7,
        ac_voltage_ca: 400.6,
        temp_environment: 24.1,
        temp_ambient: 23.5,
        temp_igbt: 51.3,
      },
    ],
  }),
);

const kindDevice = component(
  'KindDevice',
  z.object({
    id: z.string(),
    first: isoTime.nullable(),
    last: isoTime.nullable(),
    stepSeconds: z.number().describe('The default grid step: the fastest signal’s measured period'),
    signals: z.array(
      z.object({ signal: z.string(), field: z.string().nullable(), unit: z.string(), rows: z.number().int() }),
    ),
    rows: z.number().int(),
  }),
);
export const deviceList = component(
  'DeviceList',
  z.object({ devices: z.array(z.string()), count: z.number().int(), details: z.array(kindDevice) }),
);

const envelope = {
  device_id: z.string(),
  total_records: z.number().int().describe('Records available for this query, for paging to the end'),
  batch_size: z.number().int(),
  skip: z.number().int(),
  returned: z.number().int().describe('Records in this page'),
};
export const recordPages = {
  bms: component(
    'BMSPage',
    z.object({ ...envelope, step_seconds: z.number().describe('Grid step of the records'), data: z.array(bmsReading) }),
  ),
  pcs: component(
    'PCSPage',
    z.object({ ...envelope, step_seconds: z.number().describe('Grid step of the records'), data: z.array(pcsReading) }),
  ),
};

export const bessRecord = component(
  'BessRecord',
  z.object({
    timestamp: isoTime,
    ...Object.fromEntries(
      PROTOTYPE_FIELDS.map(([field, signal]) => [
        field,
        (PROTOTYPE_FLAGS.has(field) ? z.boolean() : z.number()).nullable().describe(`Signal ${signal}`),
      ]),
    ),
  }),
);
export const bessPage = component('BessPage', z.object({ ...envelope, data: z.array(bessRecord) }));
export const bessDevices = component(
  'BessDevices',
  z.object({
    devices: z.array(
      z.object({
        device_id: z.string(),
        available_metrics: z.array(z.string()),
        total_rows_per_metric: z.record(z.string(), z.number().int()),
      }),
    ),
  }),
);

const epochMs = z.number().describe('Epoch milliseconds');
const alarm = component(
  'Alarm',
  z.object({
    id: z.string(),
    deviceId: z.string(),
    kind: z.enum(ANOMALY_KINDS),
    severity,
    highestSeverity: severity,
    status: z.enum(['active', 'cleared']),
    signals: z.array(z.string()),
    openedAt: epochMs,
    clearedAt: epochMs.nullable(),
    historical: z.boolean().describe('Found while catching up on history at start-up: recorded, never notified'),
    message: z.string(),
    observed: z.number().nullable(),
    threshold: z.union([z.number(), z.tuple([z.number(), z.number()])]).nullable(),
    occurrences: z.number().int(),
    acknowledged: z.boolean(),
    acknowledgedBy: z.string().nullable(),
    acknowledgedAt: epochMs.nullable(),
    ackComment: z.string().nullable(),
    shelvedUntil: epochMs.nullable(),
    shelvedBy: z.string().nullable(),
    updatedAt: epochMs,
  }),
);
const alarmComment = component(
  'AlarmComment',
  z.object({ id: z.string(), author: z.string(), body: z.string(), at: epochMs }),
);
export const alarmChange = component(
  'AlarmChange',
  z.object({
    trigger: z.enum(['opened', 'escalated', 'repeated', 'cleared', 'acknowledged', 'commented', 'shelved', 'reminder']),
    alarm,
    actor: z.string().describe('A key’s name, or `detector`'),
  }),
);
export const alarmList = component(
  'AlarmList',
  z.object({ items: z.array(alarm), nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page') }),
);
export const alarmDetail = component('AlarmDetail', z.object({ alarm, comments: z.array(alarmComment) }));

export const analysisResult = component(
  'AnalysisResult',
  z.object({
    analysis: z.string().describe('Markdown'),
    prompt_type: z.string(),
    model_used: z.literal('bess-analytics').describe('This project’s analytics; there is no language model'),
    tokens_used: z.null(),
    success: z.literal(true),
  }),
);
export const deviceAnalysis = component(
  'DeviceAnalysis',
  z.object({ device_id: z.string(), records_analyzed: z.number().int(), analysis_result: analysisResult }),
);
export const analysisPrompts = component(
  'AnalysisPrompts',
  z.object({
    available_prompts: z.record(z.string(), z.string()),
    not_available: z.record(z.string(), z.string()),
    usage: z.object({ endpoint: z.string(), method: z.string(), parameters: z.record(z.string(), z.string()) }),
    example_request: z.object({
      json_data: z.object({ device_id: z.string(), data: z.array(z.unknown()) }),
      prompt_type: z.string(),
    }),
  }),
);

export const health = component(
  'Health',
  z
    .object({ status: z.literal('ok'), uptimeSeconds: z.number().int().min(0) })
    .meta({ examples: [{ status: 'ok', uptimeSeconds: 86400 }] }),
);
export const readiness = component(
  'Readiness',
  z.object({
    ready: z.boolean(),
    storeReachable: z.boolean(),
    devices: z.number().int(),
    failedFiles: z.number().int(),
    refusedFiles: z.number().int(),
    damagedBlocks: z.number().int(),
    problems: z.array(z.object({ deviceId: z.string(), signal: z.string(), kind: z.enum(['refused', 'failed']) })),
  }),
);

/** A response whose body is the component `schema`. */
export function jsonResponse(description: string, schema: z.ZodType, type = 'application/json') {
  const id = components.get(schema)?.id;
  if (!id) throw new Error(`${description}: its schema is not a registered component`);
  return { description, content: { [type]: { schema: { $ref: `#/components/schemas/${id}` } } } };
}

/** Every registered schema as OpenAPI components, referring to each other by `$ref`. */
export function componentSchemas(): Record<string, unknown> {
  const { schemas } = z.toJSONSchema(components, {
    io: 'output',
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, schema]) => {
      const { $schema: _schema, $id: _id, ...rest } = schema as Record<string, unknown>;
      return [id, withoutSafeIntegerBounds(rest)];
    }),
  );
}

/** zod bounds every integer by ±(2^53 - 1); samples drawn from those bounds read as nonsense. */
function withoutSafeIntegerBounds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSafeIntegerBounds);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(
        ([key, v]) => !(['minimum', 'maximum'].includes(key) && Math.abs(v as number) === Number.MAX_SAFE_INTEGER),
      )
      .map(([key, v]) => [key, withoutSafeIntegerBounds(v)]),
  );
}
