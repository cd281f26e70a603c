import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiKeys } from './auth.js';
import { CorsPolicy } from './cors.js';
import { Counter, Histogram, MetricsRegistry } from './metrics.js';
import { ClientLimiter } from './rate-limit.js';
import { routeLabel } from './route-label.js';

describe('ApiKeys', () => {
  it('is open without keys and strict with them', () => {
    expect(new ApiKeys([]).accepts(undefined)).toBe(true);
    const keys = new ApiKeys(['alpha-key', 'beta-key']);
    expect(keys.enabled).toBe(true);
    expect(keys.accepts('beta-key')).toBe(true);
    for (const wrong of [undefined, '', 'alpha', 'alpha-key ', 'ALPHA-KEY']) expect(keys.accepts(wrong)).toBe(false);
  });

  it('reads keys from the environment and a key file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'keys-')), 'keys');
    writeFileSync(file, '# operators\nfrom-file\n\n');
    const keys = ApiKeys.fromEnv({ BESS_API_KEYS: 'one, two', BESS_API_KEY_FILE: file });
    expect(['one', 'two', 'from-file'].every((k) => keys.accepts(k))).toBe(true);
    expect(keys.accepts('# operators')).toBe(false);
  });
});

describe('ClientLimiter', () => {
  it('allows a burst, refuses beyond it, and refills over time', () => {
    let now = 0;
    const limiter = new ClientLimiter({ ratePerSecond: 10, burst: 5, maxSubscriptions: 2 }, () => now);
    const results = Array.from({ length: 7 }, () => limiter.allowQuery('a'));
    expect(results).toEqual([true, true, true, true, true, false, false]);
    expect(limiter.allowQuery('b')).toBe(true);
    now += 200; // two tokens back
    expect([limiter.allowQuery('a'), limiter.allowQuery('a'), limiter.allowQuery('a')]).toEqual([true, true, false]);
  });

  it('caps concurrent subscriptions and frees a slot once per release', () => {
    const limiter = new ClientLimiter({ ratePerSecond: 1, burst: 1, maxSubscriptions: 2 });
    const first = limiter.openSubscription('c')!;
    expect(limiter.openSubscription('c')).not.toBeNull();
    expect(limiter.openSubscription('c')).toBeNull();
    first();
    first();
    expect(limiter.subscriptionsOf('c')).toBe(1);
    expect(limiter.openSubscription('c')).not.toBeNull();
  });
});

describe('metrics', () => {
  it('renders the Prometheus text format', () => {
    const registry = new MetricsRegistry();
    const c = registry.register(new Counter('x_total', 'things'));
    const h = registry.register(new Histogram('lat_seconds', 'latency', [0.1, 1]));
    c.inc({ route: '/bms/"x"' });
    c.inc({ route: '/bms/"x"' });
    h.observe(0.05);
    h.observe(0.5);
    const text = registry.render();
    expect(text).toContain('# TYPE x_total counter');
    expect(text).toContain('x_total{route="/bms/\\"x\\""} 2');
    expect(text).toContain('lat_seconds_bucket{le="0.1"} 1');
    expect(text).toContain('lat_seconds_bucket{le="+Inf"} 2');
    expect(text).toContain('lat_seconds_count 2');
  });
});

describe('CorsPolicy', () => {
  it('allows any origin when open, only the listed ones when configured', () => {
    expect(CorsPolicy.fromEnv({}, false).allows('http://x')).toBe(true);
    const listed = CorsPolicy.fromEnv({ BESS_CORS_ORIGINS: 'https://ops.example' }, true);
    expect(listed.allows('https://ops.example')).toBe(true);
    expect(listed.allows('https://evil.example')).toBe(false);
    expect(CorsPolicy.fromEnv({}, true).allows('https://ops.example')).toBe(false);
    expect(() => CorsPolicy.fromEnv({ BESS_CORS_ORIGINS: '*' }, true)).toThrow(/not allowed/);
  });
});

describe('routeLabel', () => {
  it('names each route by its template, so ids and junk never become new series', () => {
    expect(routeLabel('/bms/ZHPESS232A230002')).toBe('/bms/{device_id}');
    expect(routeLabel('/pcs/X/stream')).toBe('/pcs/{device_id}/stream');
    expect(routeLabel('/bms/devices')).toBe('/bms/devices');
    expect(routeLabel('/alarms/9f2c/acknowledge')).toBe('/alarms/{id}/acknowledge');
    expect(routeLabel('/trpc/bms.batch,pcs.batch')).toBe('/trpc');
    expect(routeLabel('/docs/swagger-ui.css')).toBe('/docs');
    for (const junk of ['/etc/passwd', '/bms/a/b/c', '/alarms/x/drop', '/%00', '/wp-login.php'])
      expect(routeLabel(junk)).toBe('other');
  });
});
