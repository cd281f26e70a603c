import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DEVICE_ID, type RecordKind } from '@bess/core';
import { z } from 'zod';
import {
  alarmChange,
  analysisPrompts,
  analysisResult,
  deviceAnalysis,
  alarmDetail,
  alarmList,
  bessDevices,
  bessPage,
  bessRecord,
  bmsReading,
  componentSchemas,
  deviceList,
  health,
  jsonResponse,
  pcsReading,
  problem,
  readiness,
  recordPages,
  validationProblem,
} from './openapi-schemas.js';
import { ANALYSES } from './ai-analysis.js';
import { analyzeInput } from './rest-ai.js';
import { ALARM_LIST_PARAMS } from './rest-alarms.js';
import { acknowledgeInput, alarmListInput, commentInput, shelveInput } from './router/alarms.js';
import { batchInput, streamInput } from './schemas.js';

/**
 * The OpenAPI document of the REST surface, generated from the same zod schemas
 * the routes validate with (zod 4's JSON Schema output), never written by hand.
 */
const KINDS: RecordKind[] = ['bms', 'pcs'];

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
}

/** Query parameters from an object schema's properties, renamed to the prototype's snake_case. */
function queryParameters(schema: z.ZodType, rename: Record<string, string>, skip: string[]) {
  const props = (jsonSchema(schema).properties ?? {}) as Record<string, Record<string, unknown>>;
  return Object.entries(props)
    .filter(([key]) => !skip.includes(key))
    .map(([key, prop]) => ({
      name: rename[key] ?? key,
      in: 'query',
      required: false,
      schema: prop,
      description: prop.description,
    }));
}

const deviceParameter = {
  name: 'device_id',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: DEVICE_ID.source },
  description: 'Cabinet id',
  example: 'ZHPESS232A230002',
};
const errors = {
  '404': jsonResponse('Unknown device', problem),
  '422': jsonResponse('Invalid parameters (detail names each one)', validationProblem),
  '429': jsonResponse('Too many requests or streams from this client; slow down', problem),
};
const sseDescription = (what: string) =>
  `Server-Sent Events: \`id: <record time>\` and \`data: <${what} JSON>\` per event; \`: ping\` comments every 15 s; ` +
  'an `error` event if the stream ends on the server. Reconnect with `Last-Event-ID` to resume.';

let built: Record<string, unknown> | undefined;
/** The document, built once: it depends only on the code. */
export function openApiDocument(): Record<string, unknown> {
  return (built ??= buildDocument());
}

function buildDocument(): Record<string, unknown> {
  const paths: Record<string, unknown> = {
    '/health': { get: { tags: ['Service'], summary: 'Liveness', responses: { '200': jsonResponse('Alive', health) } } },
    '/ready': {
      get: {
        tags: ['Service'],
        summary: 'Readiness (indexes loaded)',
        responses: {
          '200': jsonResponse('Ready', readiness),
          '503': jsonResponse('Not ready: files failed to index', readiness),
        },
      },
    },
  };
  for (const kind of KINDS) {
    const K = kind.toUpperCase();
    paths[`/${kind}/devices`] = {
      get: {
        tags: [K],
        summary: `Devices with ${K} data`,
        responses: { '200': jsonResponse('Device ids, and each one’s signals, span and rows', deviceList) },
      },
    };
    paths[`/${kind}/{device_id}`] = {
      get: {
        tags: [K],
        summary: `A page of aligned ${K} records`,
        parameters: [deviceParameter, ...queryParameters(batchInput, { batchSize: 'batch_size' }, ['deviceId'])],
        responses: { '200': jsonResponse(`A page of ${K} records`, recordPages[kind]), ...errors },
      },
    };
    paths[`/${kind}/{device_id}/stream`] = {
      get: {
        tags: [K],
        summary: `Server-Sent Events: one aligned ${K} record per event`,
        parameters: [deviceParameter, ...queryParameters(streamInput, {}, ['deviceId', 'lastEventId'])],
        responses: {
          '200': jsonResponse(
            sseDescription(`${K} record`),
            kind === 'bms' ? bmsReading : pcsReading,
            'text/event-stream',
          ),
          ...errors,
        },
      },
    };
    paths[`/${kind}/{device_id}/export.csv`] = {
      get: {
        tags: [K],
        summary: `Aligned ${K} records of a range as CSV`,
        parameters: [deviceParameter, ...queryParameters(batchInput, {}, ['deviceId', 'batchSize', 'skip', 'tail'])],
        responses: {
          '200': {
            description: 'CSV: a header row (`timestamp` and the record’s fields), then one row per record',
            content: { 'text/csv': { schema: { type: 'string' } } },
          },
          ...errors,
        },
      },
    };
  }
  Object.assign(paths, alarmPaths(), bessPaths(), aiPaths());
  withOperationsNamedAndSecured(paths);
  return {
    openapi: '3.1.0',
    servers: [{ url: '/', description: 'This server' }],
    info: {
      title: 'BESS telemetry API',
      version: '1.0.0',
      license: { name: 'MIT', identifier: 'MIT' },
      description:
        'REST surface of the BESS telemetry platform. TypeScript clients should use the typed tRPC client, `@bess/client`.',
    },
    tags: [
      { name: 'Service', description: 'Probes' },
      { name: 'BMS', description: 'Battery management system: aligned records on a common timeline' },
      { name: 'PCS', description: 'Power conversion system: aligned records on a common timeline' },
      { name: 'BESS (prototype)', description: 'The prototype’s merged records, every subsystem per grid time' },
      { name: 'Alarms', description: 'Persisted alarms: list, acknowledge, comment, shelve' },
      {
        name: 'Analysis (prototype)',
        description: 'The prototype’s /ai routes, answered by the analytics; what needed a language model is 501',
      },
    ],
    paths,
    components: { securitySchemes: SECURITY_SCHEMES, schemas: componentSchemas() },
  };
}

/** The three ways a key may be presented (see ops/auth.ts); any one of them will do. */
const SECURITY_SCHEMES = {
  bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <key>' },
  apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
  apiKeyQuery: {
    type: 'apiKey',
    in: 'query',
    name: 'api_key',
    description: 'For EventSource, which cannot set headers',
  },
};
/** Probes stay open whether or not keys are configured. */
const PUBLIC_PATHS = new Set(['/health', '/ready']);

/**
 * Every operation gets an operationId from its method and path (`get /bms/{device_id}/stream` ->
 * `getBmsDeviceIdStream`) and, unless it is a probe, the key requirement and its 401 answer.
 */
function withOperationsNamedAndSecured(paths: Record<string, unknown>): void {
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(item as Record<string, Record<string, unknown>>)) {
      const words = path.split(/[^A-Za-z0-9]+/).filter(Boolean);
      op.operationId = method + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
      if (PUBLIC_PATHS.has(path)) {
        op.security = [];
        continue;
      }
      op.security = Object.keys(SECURITY_SCHEMES).map((name) => ({ [name]: [] }));
      op.responses = {
        ...(op.responses as Record<string, unknown>),
        '401': jsonResponse('No valid API key (only when the server has keys configured)', problem),
      };
    }
  }
}

/** The prototype's merged `/bess` routes. */
function bessPaths(): Record<string, unknown> {
  const tags = ['BESS (prototype)'];
  return {
    '/bess/devices': {
      get: {
        tags,
        summary: 'Cabinets with a BMS, and the prototype fields each has',
        responses: { '200': jsonResponse('Cabinets and their fields', bessDevices) },
      },
    },
    '/bess/{device_id}': {
      get: {
        tags,
        summary: 'Merged records (every subsystem) of one cabinet, a page at a time',
        parameters: [
          deviceParameter,
          ...queryParameters(batchInput, { batchSize: 'batch_size' }, ['deviceId', 'step']),
        ],
        responses: { '200': jsonResponse('A page of merged records', bessPage), ...errors },
      },
    },
    '/bess/{device_id}/stream': {
      get: {
        tags,
        summary: 'Server-Sent Events: one merged record per event',
        parameters: [
          deviceParameter,
          ...queryParameters(streamInput, {}, ['deviceId', 'lastEventId']),
          ...queryParameters(batchInput, {}, ['deviceId', 'batchSize', 'skip', 'tail', 'from', 'to', 'step']),
        ],
        responses: { '200': jsonResponse(sseDescription('merged record'), bessRecord, 'text/event-stream'), ...errors },
      },
    },
  };
}

/** The prototype's `/ai` routes. */
function aiPaths(): Record<string, unknown> {
  const tags = ['Analysis (prototype)'];
  const unanswered = jsonResponse('A question only a language model answered; the detail says what to use', problem);
  const promptType = {
    name: 'prompt_type',
    in: 'query',
    required: true,
    schema: { type: 'string', enum: Object.keys(ANALYSES) },
  };
  return {
    '/ai/prompts': {
      get: {
        tags,
        summary: 'The analyses answered',
        responses: { '200': jsonResponse('Question types', analysisPrompts) },
      },
    },
    '/ai/analyze': {
      post: {
        tags,
        summary: 'A Markdown analysis of posted records’ period',
        requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(analyzeInput) } } },
        responses: {
          '200': jsonResponse('The analysis', analysisResult),
          '400': jsonResponse('The body is not a JSON object', problem),
          '404': errors['404'],
          '413': jsonResponse('The body is over 2 MiB', problem),
          '422': errors['422'],
          '429': errors['429'],
          '501': unanswered,
        },
      },
    },
    '/ai/device-analysis/{device_id}': {
      get: {
        tags,
        summary: 'A Markdown analysis of a page of a device’s records',
        parameters: [
          deviceParameter,
          promptType,
          ...queryParameters(batchInput, { batchSize: 'batch_size' }, ['deviceId', 'step']),
        ],
        responses: { '200': jsonResponse('The analysis', deviceAnalysis), ...errors, '501': unanswered },
      },
    },
  };
}

/** `/alarms` over REST: the same inputs as the tRPC `alarms.*` procedures. */
function alarmPaths(): Record<string, unknown> {
  const tags = ['Alarms'];
  const id = { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'Alarm id' };
  const changed = jsonResponse('The alarm after the change, and the change', alarmChange);
  const unknownAlarm = jsonResponse('Unknown alarm', problem);
  const body = (schema: z.ZodType) => {
    const {
      properties = {},
      required = [],
      ...rest
    } = jsonSchema(schema) as {
      properties?: Record<string, unknown>;
      required?: string[];
    };
    const { id: _id, ...fields } = properties;
    return {
      required: true,
      content: {
        'application/json': { schema: { ...rest, properties: fields, required: required.filter((r) => r !== 'id') } },
      },
    };
  };
  const refused = {
    '403': jsonResponse('The key is not an operator key', problem),
    '404': unknownAlarm,
    '422': jsonResponse('Invalid body', problem),
  };
  const rename = Object.fromEntries(Object.entries(ALARM_LIST_PARAMS).map(([param, key]) => [key, param]));
  return {
    '/alarms': {
      get: {
        tags,
        summary: 'Alarms fleet-wide, newest first; page with nextCursor',
        parameters: queryParameters(alarmListInput, rename, []),
        responses: { '200': jsonResponse('A page of alarms', alarmList), '422': errors['422'] },
      },
    },
    '/alarms/{id}': {
      get: {
        tags,
        summary: 'One alarm with its comments',
        parameters: [id],
        responses: { '200': jsonResponse('The alarm and its comments', alarmDetail), '404': unknownAlarm },
      },
    },
    '/alarms/{id}/acknowledge': {
      post: {
        tags,
        summary: 'Acknowledge, with a comment',
        parameters: [id],
        requestBody: body(acknowledgeInput),
        responses: { '200': changed, ...refused },
      },
    },
    '/alarms/{id}/comments': {
      post: {
        tags,
        summary: 'Add a comment',
        parameters: [id],
        requestBody: body(commentInput),
        responses: { '201': changed, ...refused },
      },
    },
    '/alarms/{id}/shelve': {
      post: {
        tags,
        summary: 'Shelve until a time (null unshelves)',
        parameters: [id],
        requestBody: body(shelveInput),
        responses: { '200': changed, ...refused },
      },
    },
  };
}

const require = createRequire(import.meta.url);

/** Swagger UI's and ReDoc's files, served locally (no CDN: operators' networks are often closed). */
export const swaggerUiDir = dirname(require.resolve('swagger-ui-dist/package.json'));
export const redocDir = join(dirname(require.resolve('redoc/package.json')), 'bundles');

export const REDOC_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>BESS telemetry API</title></head>
<body><redoc spec-url="/openapi.json"></redoc><script src="/redoc/redoc.standalone.js"></script></body></html>`;

export const SWAGGER_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>BESS telemetry API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script><script src="/docs/init.js"></script></body></html>`;

export const SWAGGER_INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui' });`;
