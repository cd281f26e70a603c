import { lazy, Suspense } from 'react';
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

const LIVE_SUMMARY_MS = 5000;

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
  // While Live is open the summary is re-read: its `last` is the newest reading, which Live shows.
  const summary = trpc.devices.summary.useQuery(
    { deviceId },
    { retry: false, refetchInterval: tab === 'live' ? LIVE_SUMMARY_MS : false },
  );
  // Live's opening pages go out with the summary (one batched request), not after it.
  useLiveTail('bms', deviceId, tab === 'live');
  useLiveTail('pcs', deviceId, tab === 'live');
  if (summary.isLoading) return <Loading>Loading {deviceId}…</Loading>;
  if (summary.error || !summary.data) return <ErrorState error={summary.error} what={`Cabinet ${deviceId}`} />;
  const d = summary.data;
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
            catalogue={d.signals}
            {...(range ? { initialRange: range } : {})}
            {...(signals ? { initialSignals: signals } : {})}
          />
        )}
        {tab === 'cells' && <CellsPanel deviceId={deviceId} hasCells={d.hasCells} first={d.first} last={d.last} />}
        {tab === 'alerts' && <AnalyticsPanel deviceId={deviceId} />}
        {tab === 'quality' && <QualityPanel signals={d.signals} />}
      </Suspense>
    </section>
  );
}
