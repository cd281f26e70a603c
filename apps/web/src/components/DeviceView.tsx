import { lazy, Suspense, useLayoutEffect } from 'react';
import { setSiteZone } from '../lib/format';
import { href, type DeviceTab, type TimeRange } from '../lib/route';
import { trpc } from '../trpc';
import HistoryPanel from './HistoryPanel';
import { LivePanel, useLiveTail } from './LivePanel';
import { QualityPanel } from './QualityPanel';
import { ErrorState, Loading } from './States';

// Cells and alerts pull in more code: loaded when opened. History is not: a lazy panel's first
// render waits out React's Suspense reveal throttle (about 300 ms) before its queries go out.
const CellsPanel = lazy(() => import('./CellsPanel'));
const AnalyticsPanel = lazy(() => import('./AnalyticsPanel'));

const LIVE_INFO_MS = 5000;

const TABS: { tab: DeviceTab; label: string }[] = [
  { tab: 'live', label: 'Live' },
  { tab: 'history', label: 'History' },
  { tab: 'cells', label: 'Cells' },
  { tab: 'alerts', label: 'Alerts & forecast' },
  { tab: 'quality', label: 'Data quality' },
];

export function DeviceView({
  deviceId,
  tab,
  range,
  signals,
}: {
  deviceId: string;
  tab: DeviceTab;
  range?: TimeRange;
  /** Signals charted beside the fixed ones in History, from a link. */
  signals?: string[];
}) {
  // While Live is open the span is re-read: its `last` is the newest reading, which Live shows.
  const info = trpc.devices.info.useQuery(
    { deviceId },
    { retry: false, refetchInterval: tab === 'live' ? LIVE_INFO_MS : false },
  );
  // The signal catalogue (hundreds of entries) only for the views that list signals.
  const listsSignals = tab === 'history' || tab === 'quality';
  const summary = trpc.devices.summary.useQuery({ deviceId }, { retry: false, enabled: listsSignals });
  // Live's opening pages go out with the span (one batched request), not after it.
  useLiveTail('bms', deviceId, tab === 'live');
  useLiveTail('pcs', deviceId, tab === 'live');
  // Times in the site's zone follow this cabinet's, set before the first paint (App clears it off device pages).
  // While another cabinet's span loads, the last zone stays: times are not drawn in UTC in between.
  const timeZone = info.data ? info.data.timeZone : undefined;
  useLayoutEffect(() => {
    if (timeZone !== undefined) setSiteZone(timeZone);
  }, [timeZone]);
  const failed = info.error ?? (listsSignals ? summary.error : null);
  if (failed) return <ErrorState error={failed} what={`Cabinet ${deviceId}`} />;
  if (!info.data || (listsSignals && !summary.data)) return <Loading>Loading {deviceId}…</Loading>;
  const d = info.data;
  const catalogue = summary.data?.signals ?? [];
  return (
    <section>
      <div className="title-row">
        <h1>{d.id}</h1>
        <nav className="tabs" aria-label="Device views">
          {TABS.map((t) => (
            <a
              key={t.tab}
              href={href({ page: 'device', deviceId, tab: t.tab })}
              className={t.tab === tab ? 'active' : ''}
              data-testid={`tab-${t.tab}`}
            >
              {t.label}
            </a>
          ))}
        </nav>
      </div>
      <Suspense fallback={<Loading />}>
        {tab === 'live' && <LivePanel deviceId={deviceId} first={d.first} last={d.last} />}
        {tab === 'history' && (
          <HistoryPanel
            key={deviceId}
            deviceId={deviceId}
            first={d.first}
            last={d.last}
            catalogue={catalogue}
            {...(range ? { initialRange: range } : {})}
            {...(signals ? { initialSignals: signals } : {})}
          />
        )}
        {tab === 'cells' && <CellsPanel deviceId={deviceId} hasCells={d.hasCells} first={d.first} last={d.last} />}
        {tab === 'alerts' && <AnalyticsPanel deviceId={deviceId} />}
        {tab === 'quality' && <QualityPanel signals={catalogue} />}
      </Suspense>
    </section>
  );
}
