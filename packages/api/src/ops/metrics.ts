import { ROUTE_LABELS } from './route-label.js';

/**
 * A small Prometheus text-format registry: counters, gauges and histograms with
 * labels. The server needs a dozen series; a client library would be heavier
 * than this file.
 */
type Labels = Record<string, string>;

/** Series key, computed on every count: a stream event counts twice per subscriber, so the common cases are kept cheap. */
function labelKey(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  if (keys.length > 1) keys.sort();
  return keys.map((k) => `${k}="${escapeLabel(String(labels[k]))}"`).join(',');
}
function escapeLabel(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : value;
}

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
  ) {}
  abstract lines(): string[];
  render(): string {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`, ...this.lines()].join('\n');
  }
}

export class Counter extends Metric {
  private readonly values = new Map<string, number>();
  constructor(name: string, help: string) {
    super(name, help, 'counter');
  }
  inc(labels: Labels = {}, by = 1): void {
    const key = labelKey(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  lines(): string[] {
    return [...this.values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${v}`);
  }
}

/** @public Exported so declarations that spell out a Context (AppRouter's procedures) can name it. */
export class Gauge extends Metric {
  private readonly values = new Map<string, number | (() => number)>();
  constructor(name: string, help: string) {
    super(name, help, 'gauge');
  }
  set(value: number | (() => number), labels: Labels = {}): void {
    this.values.set(labelKey(labels), value);
  }
  inc(labels: Labels = {}, by = 1): void {
    const key = labelKey(labels);
    const current = this.values.get(key);
    this.values.set(key, (typeof current === 'function' ? current() : (current ?? 0)) + by);
  }
  dec(labels: Labels = {}, by = 1): void {
    this.inc(labels, -by);
  }
  get(labels: Labels = {}): number {
    const v = this.values.get(labelKey(labels));
    return typeof v === 'function' ? v() : (v ?? 0);
  }
  lines(): string[] {
    return [...this.values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${typeof v === 'function' ? v() : v}`);
  }
}

export class Histogram extends Metric {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    name: string,
    help: string,
    readonly buckets: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  ) {
    super(name, help, 'histogram');
  }
  /** The series of `labels`, created at zero if new (so it is exported before its first observation). */
  init(labels: Labels = {}): { counts: number[]; sum: number; count: number } {
    const key = labelKey(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    return s;
  }
  observe(value: number, labels: Labels = {}): void {
    const s = this.init(labels);
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }
  lines(): string[] {
    const out: string[] = [];
    for (const [k, s] of this.series) {
      const prefix = k ? `${k},` : '';
      this.buckets.forEach((b, i) => out.push(`${this.name}_bucket{${prefix}le="${b}"} ${s.counts[i]}`));
      out.push(`${this.name}_bucket{${prefix}le="+Inf"} ${s.count}`);
      out.push(`${this.name}_sum${k ? `{${k}}` : ''} ${s.sum}`);
      out.push(`${this.name}_count${k ? `{${k}}` : ''} ${s.count}`);
    }
    return out;
  }
}

export class MetricsRegistry {
  private readonly metrics: Metric[] = [];
  register<M extends Metric>(metric: M): M {
    this.metrics.push(metric);
    return metric;
  }
  render(): string {
    return `${this.metrics.map((m) => m.render()).join('\n')}\n`;
  }
}

/** The server's metrics, one definition for every place that counts. */
/** Label values each counter can take: their series exist at 0 from start-up, so rate() sees the first event. */
const RATE_LIMIT_KINDS = [
  'auth',
  'connection',
  'in_flight',
  'query',
  'rest',
  'subscription',
  'turns',
  'heavy_client',
  'heavy_server',
];
const DROP_REASONS = ['slow_client', 'client_cut_off'];

/** Status classes of the request counter that exist at zero from start-up. */
const STATUS_CLASSES = ['2xx', '4xx', '5xx'];

/**
 * `queryRoutes`: the latency histogram's labels (`http:<route>`, `sse:<route>`, `trpc:<procedure>`)
 * created at zero.
 */
export function createServerMetrics(queryRoutes: readonly string[] = []) {
  const registry = new MetricsRegistry();
  const metrics = {
    registry,
    httpRequests: registry.register(new Counter('bess_http_requests_total', 'HTTP requests by route and status class')),
    queryLatency: registry.register(
      new Histogram(
        'bess_query_duration_seconds',
        'Handling time by route: http:<route> to the last byte, sse:<route> to the first event, trpc:<procedure>',
      ),
    ),
    connections: registry.register(
      new Gauge('bess_open_connections', 'Open WebSocket and SSE connections by transport'),
    ),
    subscriptions: registry.register(new Gauge('bess_active_subscriptions', 'Active stream subscriptions')),
    eventsSent: registry.register(new Counter('bess_stream_events_sent_total', 'Stream events delivered to clients')),
    /** From an event's due time (its replay tick, or when a live record was seen) to handing it to the subscriber's socket. */
    streamSendLateness: registry.register(
      new Histogram(
        'bess_stream_send_lateness_seconds',
        'Stream events: from the due time to the send to the subscriber socket',
        [0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5],
      ),
    ),
    eventsDropped: registry.register(
      new Counter('bess_stream_events_dropped_total', 'Stream events dropped for slow clients'),
    ),
    rateLimited: registry.register(new Counter('bess_rate_limited_total', 'Requests refused by the rate limiter')),
    authFailures: registry.register(
      new Counter('bess_auth_failures_total', 'Requests refused for a missing or wrong API key'),
    ),
    ingestRows: registry.register(
      new Gauge('bess_ingest_rows', 'Indexed CSV lines by outcome (accepted or rejected reason)'),
    ),
    ingestProblems: registry.register(
      new Gauge(
        'bess_ingest_problem_files',
        'Signal files not served as on disk: refused (not a regular file) or failed (index not written or read)',
      ),
    ),
    indexDamaged: registry.register(
      new Gauge(
        'bess_index_damaged_blocks',
        'Index blocks found damaged when read (each rebuilds its file from the CSV), since start',
      ),
    ),
    heavyQueries: registry.register(
      new Gauge(
        'bess_heavy_queries',
        'Heavy queries (scans, forecasts, cell statistics) running or waiting for the work gate',
      ),
    ),
  };
  for (const route of ROUTE_LABELS) for (const status of STATUS_CLASSES) metrics.httpRequests.inc({ route, status }, 0);
  for (const route of queryRoutes) metrics.queryLatency.init({ route });
  metrics.streamSendLateness.init();
  for (const kind of RATE_LIMIT_KINDS) metrics.rateLimited.inc({ kind }, 0);
  for (const reason of DROP_REASONS) metrics.eventsDropped.inc({ reason }, 0);
  for (const kind of ['bms', 'pcs']) metrics.eventsSent.inc({ kind }, 0);
  metrics.authFailures.inc({}, 0);
  metrics.subscriptions.set(0);
  for (const transport of ['websocket', 'sse']) metrics.connections.set(0, { transport });
  return metrics;
}
export type ServerMetrics = ReturnType<typeof createServerMetrics>;
