import { BMS_SIGNALS } from '@bess/core/catalog';
import { ago, formatDateTime, formatValue } from '../lib/format';
import { href } from '../lib/route';
import { powerState, worstStatus } from '../lib/status';
import { trpc } from '../trpc';
import { Empty, ErrorState, Loading } from './States';

export function FleetOverview() {
  const overview = trpc.devices.overview.useQuery(undefined, { refetchInterval: 10_000 });
  if (overview.isLoading) return <Loading>Loading the fleet…</Loading>;
  if (overview.error) return <ErrorState error={overview.error} what="Fleet overview" />;
  if (!overview.data?.length) return <Empty>No cabinets found in the data folder.</Empty>;
  const now = Date.now();
  return (
    <section>
      <h1>Fleet</h1>
      <div className="cards" data-testid="fleet">
        {overview.data.map((d) => {
          const bms = d.bms as Record<string, number | null> | null;
          const pcs = d.pcs as Record<string, number | null> | null;
          const status = bms
            ? worstStatus(BMS_SIGNALS.map((s) => ({ signal: s.signal, value: bms[s.field!] })))
            : 'unknown';
          const state = powerState(bms?.current);
          return (
            <a
              key={d.id}
              className={`card status-${status}`}
              href={href({ page: 'device', deviceId: d.id, tab: 'live' })}
              data-testid="device-card"
            >
              <div className="card-head">
                <strong>{d.id}</strong>
                <span className={`pill ${status}`}>{status === 'ok' ? 'normal' : status}</span>
              </div>
              <dl className="facts">
                <dt>SOC</dt>
                <dd>{formatValue(bms?.soc, '%')}</dd>
                <dt>SOH</dt>
                <dd>{formatValue(bms?.soh, '%')}</dd>
                <dt>Power</dt>
                <dd>
                  {formatValue(pcs?.apparent_power, 'kVA')} <span className={`state-${state}`}>{state}</span>
                </dd>
                <dt>Pack voltage</dt>
                <dd>{formatValue(bms?.voltage, 'V')}</dd>
                <dt>Hottest cell</dt>
                <dd>{formatValue(bms?.cell_max_temp, '°C')}</dd>
                <dt>Cell spread</dt>
                <dd>{bms?.cell_voltage_diff == null ? '—' : `${Math.round(bms.cell_voltage_diff * 1000)} mV`}</dd>
              </dl>
              <div className="muted small">
                Last data {formatDateTime(d.last)} ({ago(d.last, now)})
              </div>
            </a>
          );
        })}
      </div>
    </section>
  );
}
