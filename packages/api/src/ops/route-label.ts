/**
 * The route a path belongs to, as a metric label: a template with the ids taken out, so the
 * number of series stays bounded whatever clients send (unknown paths are all `other`).
 */
export function routeLabel(path: string): string {
  if (path === '/' || path === '/health' || path === '/ready' || path === '/metrics' || path === '/openapi.json')
    return path;
  if (path === '/docs' || path.startsWith('/docs/')) return '/docs';
  if (path === '/auth/session') return path;
  if (path.startsWith('/trpc/')) return '/trpc';
  const parts = path.split('/').filter(Boolean);
  if (parts[0] === 'bms' || parts[0] === 'pcs') {
    if (parts.length === 2 && parts[1] === 'devices') return `/${parts[0]}/devices`;
    if (parts.length === 2) return `/${parts[0]}/{device_id}`;
    if (parts.length === 3 && (parts[2] === 'stream' || parts[2] === 'export.csv'))
      return `/${parts[0]}/{device_id}/${parts[2]}`;
    return 'other';
  }
  if (parts[0] === 'alarms') {
    if (parts.length === 1) return '/alarms';
    if (parts.length === 2) return '/alarms/{id}';
    if (parts.length === 3 && ['acknowledge', 'comments', 'shelve'].includes(parts[2]!))
      return `/alarms/{id}/${parts[2]}`;
    return 'other';
  }
  if (parts[0] === 'bess') {
    if (parts.length === 2 && parts[1] === 'devices') return '/bess/devices';
    if (parts.length === 2) return '/bess/{device_id}';
    if (parts.length === 3 && parts[2] === 'stream') return '/bess/{device_id}/stream';
    return 'other';
  }
  if (parts[0] === 'ai') {
    if (parts.length === 2 && (parts[1] === 'prompts' || parts[1] === 'analyze')) return `/ai/${parts[1]}`;
    if (parts.length === 3 && parts[1] === 'device-analysis') return '/ai/device-analysis/{device_id}';
    return 'other';
  }
  if (path === '/redoc' || path.startsWith('/redoc/')) return '/redoc';
  if (path.startsWith('/assets/')) return '/assets';
  return 'other';
}

/** Every label routeLabel gives: their series exist from start-up, at zero. */
export const ROUTE_LABELS = [
  '/',
  '/health',
  '/ready',
  '/metrics',
  '/openapi.json',
  '/docs',
  '/redoc',
  '/auth/session',
  '/trpc',
  ...['bms', 'pcs'].flatMap((k) => [
    `/${k}/devices`,
    `/${k}/{device_id}`,
    `/${k}/{device_id}/stream`,
    `/${k}/{device_id}/export.csv`,
  ]),
  '/bess/devices',
  '/bess/{device_id}',
  '/bess/{device_id}/stream',
  '/alarms',
  '/alarms/{id}',
  '/alarms/{id}/acknowledge',
  '/alarms/{id}/comments',
  '/alarms/{id}/shelve',
  '/ai/prompts',
  '/ai/analyze',
  '/ai/device-analysis/{device_id}',
  '/assets',
  'other',
];
