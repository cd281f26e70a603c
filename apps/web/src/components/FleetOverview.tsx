import type { AppRouter } from '@bess/api';
import { BMS_SIGNALS } from '@bess/core/catalog';
import type { inferRouterOutputs } from '@trpc/server';
import { ago, formatDateTime, formatValue } from '../lib/format';
import { href } from '../lib/route';
import { cardStatus, NOT_REPORTING_AFTER_MS, powerState, worstStatus } from '../lib/status';
import { trpc } from '../trpc';
import { Empty, ErrorState, Loading } from './States';

export function FleetOverview() {
  const overview = trpc.devices.overview.useQuery(undefined, { refetchInterval: 10_000 });
  const alarms = trpc.alarms.summary.useQuery(undefined, { refetchInterval: 30_000, retry: false });
  if (overview.isLoading) return <Loading>Loading the fleet…</Loading>;
  // During an outage the last values stay, greyed and dated, rather than vanishing.
  if (overview.error && !overview.data) return <ErrorState error={overview.error} what="Fleet overview" />;
  if (!overview.data?.length) return <Empty>No cabinets found in the data folder.</Empty>;
  const now = Date.now();
  const stale = !!overview.error;
  return (
    <section>
      <h1>Fleet</h1>
      {stale && (
        <div className="state error" role="alert" data-testid="fleet-stale">
          The server cannot be reached: these are the values of {formatDateTime(overview.dataUpdatedAt)} (
          {ago(new Date(overview.dataUpdatedAt).toISOString(), now)}).
        </div>
      )}
      <FleetFigures devices={overview.data} now={now} />
      <div className={stale ? 'cards stale' : 'cards'} data-testid="fleet">
        {overview.data.map((d) => {
          const { bms, pcs } = d;
          const limits = bms
            ? worstStatus(BMS_SIGNALS.map((s) => ({ signal: s.signal, value: bms[s.field] })))
            : 'unknown';
          const active = (alarms.data ?? []).filter((a) => a.deviceId === d.id && a.count > 0);
          const status = cardStatus(
            limits,
            active.map((a) => a.severity),
          );
          const silent = d.last === null || now - Date.parse(d.last) > NOT_REPORTING_AFTER_MS;
          const activeCount = active.reduce((n, a) => n + a.count, 0);
          // Old readings say nothing about now: a silent cabinet is not reporting, unless an alarm is active.
          const shown = silent && status === 'ok' ? 'unknown' : status;
          const pillText = shown === 'ok' ? 'normal' : silent && shown === 'unknown' ? 'not reporting' : shown;
          const state = powerState(bms?.current);
          return (
            <a
              key={d.id}
              className={`card status-${shown}`}
              href={href({ page: 'device', deviceId: d.id, tab: 'live' })}
              data-testid="device-card"
            >
              <div className="card-head">
                <strong>{d.id}</strong>
                <span className={`pill ${shown}`}>{pillText}</span>
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
                <dt>24 h charged / discharged</dt>
                <dd data-testid="card-energy">
                  {d.energy24h
                    ? `${d.energy24h.chargedKwh.toFixed(0)} / ${formatValue(d.energy24h.dischargedKwh, 'kWh', 0)}`
                    : '—'}
                </dd>
                <dt>Cell spread</dt>
                <dd>{bms?.cell_voltage_diff == null ? '—' : `${Math.round(bms.cell_voltage_diff * 1000)} mV`}</dd>
              </dl>
              {activeCount > 0 && (
                <div className="small" data-testid="card-alarms">
                  {activeCount} active alarm{activeCount === 1 ? '' : 's'}
                </div>
              )}
              <div className={silent ? 'small not-reporting' : 'muted small'} data-testid="card-last">
                {silent ? 'Not reporting: last data ' : 'Last data '}
                {formatDateTime(d.last)} ({ago(d.last, now)})
              </div>
            </a>
          );
        })}
      </div>
    </section>
  );
}

type Overview = inferRouterOutputs<AppRouter>['devices']['overview'];

/**
 * The fleet in three figures: cabinets reporting, pack power at each one's newest reading
 * (V x I, charging and discharging apart), and energy through the packs over the 24 h up to each
 * one's newest reading.
 */
function FleetFigures({ devices, now }: { devices: Overview; now: number }) {
  const reporting = devices.filter((d) => d.last !== null && now - Date.parse(d.last) <= NOT_REPORTING_AFTER_MS);
  let charging = 0;
  let discharging = 0;
  for (const d of devices) {
    const kw = d.bms?.voltage != null && d.bms.current != null ? (d.bms.voltage * d.bms.current) / 1000 : 0;
    if (kw > 0) discharging += kw;
    else charging -= kw;
  }
  const charged = devices.reduce((n, d) => n + (d.energy24h?.chargedKwh ?? 0), 0);
  const discharged = devices.reduce((n, d) => n + (d.energy24h?.dischargedKwh ?? 0), 0);
  return (
    <dl className="fleet-figures" data-testid="fleet-figures">
      <div>
        <dt>Reporting</dt>
        <dd data-testid="fleet-reporting">
          {reporting.length} of {devices.length}
        </dd>
      </div>
      <div>
        <dt>Pack power at the newest readings</dt>
        <dd data-testid="fleet-power">
          {formatValue(charging, 'kW', 0)} charging · {formatValue(discharging, 'kW', 0)} discharging
        </dd>
      </div>
      <div>
        <dt>Energy, last 24 h of data</dt>
        <dd data-testid="fleet-energy">
          {formatValue(charged, 'kWh', 0)} charged · {formatValue(discharged, 'kWh', 0)} discharged
        </dd>
      </div>
    </dl>
  );
}
