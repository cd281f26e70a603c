import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { RecordKind } from '@bess/core';
import { z } from 'zod';
import { RECORD_SCHEMAS, batchInput, qualitySchema, streamInput } from './schemas.js';
import { ALARM_LIST_PARAMS } from './rest-alarms.js';
import { acknowledgeInput, alarmListInput, commentInput, shelveInput } from './router/alarms.js';
import { PROTOTYPE_FIELDS, PROTOTYPE_FLAGS } from './prototype-fields.js';

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
  schema: { type: 'string' },
  description: 'Cabinet id',
};
const errors = {
  '404': {
    description: 'Unknown device',
    content: { 'application/json': { schema: { type: 'object', properties: { detail: { type: 'string' } } } } },
  },
  '422': {
    description: 'Invalid parameters (detail names each one)',
    content: { 'application/json': { schema: { type: 'object', properties: { detail: { type: 'array' } } } } },
  },
};

export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, unknown> = {
    '/health': { get: { summary: 'Liveness', responses: { '200': { description: 'alive' } } } },
    '/ready': {
      get: {
        summary: 'Readiness (indexes loaded)',
        responses: { '200': { description: 'ready' }, '503': { description: 'not ready' } },
      },
    },
  };
  for (const kind of KINDS) {
    const K = kind.toUpperCase();
    const record = jsonSchema(RECORD_SCHEMAS[kind]);
    paths[`/${kind}/devices`] = {
      get: {
        tags: [K],
        summary: `Devices with ${K} data`,
        responses: { '200': { description: 'device ids and details' } },
      },
    };
    paths[`/${kind}/{device_id}`] = {
      get: {
        tags: [K],
        summary: `A page of aligned ${K} records`,
        parameters: [deviceParameter, ...queryParameters(batchInput, { batchSize: 'batch_size' }, ['deviceId'])],
        responses: {
          '200': {
            description: 'records',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: {
                    device_id: { type: 'string' },
                    total_records: {
                      type: 'integer',
                      description: 'records available for this query, for paging to the end',
                    },
                    batch_size: { type: 'integer' },
                    skip: { type: 'integer' },
                    data: { type: 'array', items: record },
                  },
                },
              },
            },
          },
          ...errors,
        },
      },
    };
    paths[`/${kind}/{device_id}/stream`] = {
      get: {
        tags: [K],
        summary: `Server-Sent Events: one aligned ${K} record per event`,
        parameters: [deviceParameter, ...queryParameters(streamInput, {}, ['deviceId', 'lastEventId'])],
        responses: {
          '200': { description: '`data: {record}` events', content: { 'text/event-stream': { schema: record } } },
          ...errors,
        },
      },
    };
    paths[`/${kind}/{device_id}/export.csv`] = {
      get: {
        tags: [K],
        summary: `Aligned ${K} records of a range as CSV`,
        parameters: [deviceParameter, ...queryParameters(batchInput, {}, ['deviceId', 'batchSize', 'skip'])],
        responses: {
          '200': { description: 'CSV with a header row', content: { 'text/csv': { schema: { type: 'string' } } } },
          ...errors,
        },
      },
    };
  }
  Object.assign(paths, alarmPaths(), bessPaths());
  withOperationsNamedAndSecured(paths);
  return {
    openapi: '3.1.0',
    servers: [{ url: '/', description: 'This server' }],
    info: {
      title: 'BESS telemetry API',
      version: '1.0.0',
      license: { name: 'MIT', identifier: 'MIT' },
      description:
        'REST surface of the BESS telemetry platform. TypeScript clients should import the typed tRPC router (`@bess/api`).',
    },
    paths,
    components: {
      securitySchemes: SECURITY_SCHEMES,
      schemas: {
        BMSReading: jsonSchema(RECORD_SCHEMAS.bms),
        PCSReading: jsonSchema(RECORD_SCHEMAS.pcs),
        SignalQuality: jsonSchema(qualitySchema),
      },
    },
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
        '401': { description: 'No valid API key (only when the server has keys configured)' },
      };
    }
  }
}

/** The prototype's merged `/bess` routes. */
function bessPaths(): Record<string, unknown> {
  const tags = ['BESS (prototype)'];
  const merged = {
    type: 'object',
    required: ['timestamp'],
    properties: {
      timestamp: { type: 'string', format: 'date-time' },
      ...Object.fromEntries(
        PROTOTYPE_FIELDS.map(([field]) => [
          field,
          { type: PROTOTYPE_FLAGS.has(field) ? ['boolean', 'null'] : ['number', 'null'] },
        ]),
      ),
    },
  };
  return {
    '/bess/devices': {
      get: {
        tags,
        summary: 'Cabinets with a BMS, and the prototype fields each has',
        responses: { '200': { description: '`{ devices }`' } },
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
        responses: {
          '200': {
            description: '`{ device_id, total_records, batch_size, skip, returned, data }`',
            content: {
              'application/json': {
                schema: { type: 'object', properties: { data: { type: 'array', items: merged } } },
              },
            },
          },
          ...errors,
        },
      },
    },
    '/bess/{device_id}/stream': {
      get: {
        tags,
        summary: 'Server-Sent Events: one merged record per event',
        parameters: [deviceParameter, ...queryParameters(streamInput, {}, ['deviceId', 'lastEventId'])],
        responses: {
          '200': { description: '`data: {record}` events', content: { 'text/event-stream': { schema: merged } } },
          ...errors,
        },
      },
    },
  };
}

/** `/alarms` over REST: the same inputs as the tRPC `alarms.*` procedures. */
function alarmPaths(): Record<string, unknown> {
  const tags = ['Alarms'];
  const id = { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'Alarm id' };
  const alarm = { description: 'The alarm after the change, and the change', content: { 'application/json': {} } };
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
    '403': { description: 'The key is not an operator key' },
    '404': errors['404'],
    '422': errors['422'],
  };
  const rename = Object.fromEntries(Object.entries(ALARM_LIST_PARAMS).map(([param, key]) => [key, param]));
  return {
    '/alarms': {
      get: {
        tags,
        summary: 'Alarms fleet-wide, newest first; page with nextCursor',
        parameters: queryParameters(alarmListInput, rename, []),
        responses: {
          '200': {
            description: '`{ items, nextCursor }`',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['items', 'nextCursor'],
                  properties: { items: { type: 'array' }, nextCursor: { type: ['string', 'null'] } },
                },
              },
            },
          },
          '422': errors['422'],
        },
      },
    },
    '/alarms/{id}': {
      get: {
        tags,
        summary: 'One alarm with its comments',
        parameters: [id],
        responses: { '200': { description: '`{ alarm, comments }`' }, '404': errors['404'] },
      },
    },
    '/alarms/{id}/acknowledge': {
      post: {
        tags,
        summary: 'Acknowledge, with a comment',
        parameters: [id],
        requestBody: body(acknowledgeInput),
        responses: { '200': alarm, ...refused },
      },
    },
    '/alarms/{id}/comments': {
      post: {
        tags,
        summary: 'Add a comment',
        parameters: [id],
        requestBody: body(commentInput),
        responses: { '201': alarm, ...refused },
      },
    },
    '/alarms/{id}/shelve': {
      post: {
        tags,
        summary: 'Shelve until a time (null unshelves)',
        parameters: [id],
        requestBody: body(shelveInput),
        responses: { '200': alarm, ...refused },
      },
    },
  };
}

/** Swagger UI's files, served locally (no CDN: operators' networks are often closed). */
export const swaggerUiDir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

export const SWAGGER_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>BESS telemetry API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script><script src="/docs/init.js"></script></body></html>`;

export const SWAGGER_INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui' });`;
