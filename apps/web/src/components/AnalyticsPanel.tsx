import { useMemo } from 'react';
import { Area, CartesianGrid, ComposedChart, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { gridProps, timeAxisProps, tooltipProps, valueAxisProps } from './chartStyle';
import { formatDateTime } from '../lib/format';
import { useUrlParam } from '../lib/route';
import { trpc } from '../trpc';
import { ErrorState, Loading } from './States';

type SeverityFilter = 'all' | 'warning' | 'critical';
const FORECAST_SIGNALS = [
  { signal: 'bms1_soc', label: 'State of charge', unit: '%' },
  { signal: 'bms1_cell_max_t', label: 'Hottest cell temperature', unit: '°C' },
  { signal: 'pcs1_ap', label: 'Apparent power', unit: 'kVA' },
];

export default function AnalyticsPanel({ deviceId }: { deviceId: string }) {
  const [severity, setSeverity] = useUrlParam<SeverityFilter>(
    'severity',
    (v) => (v === 'warning' || v === 'critical' ? v : 'all'),
    (f) => (f === 'all' ? null : f),
  );
  const anomalies = trpc.analytics.anomalies.useQuery({ deviceId, limit: 500 });
  const rul = trpc.analytics.rul.useQuery({ deviceId });
  const items = (anomalies.data?.items ?? []).filter(
    (e) => severity === 'all' || e.severity === 'critical' || (severity === 'warning' && e.severity === 'warning'),
  );
  return (
    <div>
      <div className="grid">
        <RulCard rul={rul.data} error={rul.error} />
        {FORECAST_SIGNALS.slice(0, 2).map((f) => (
          <ForecastChart key={f.signal} deviceId={deviceId} {...f} />
        ))}
      </div>
      <h2>Alerts</h2>
      <div className="controls" role="group" aria-label="Severity filter">
        {(['all', 'warning', 'critical'] as const).map((s) => (
          <button
            key={s}
            type="button"
            className={severity === s ? 'active' : ''}
            onClick={() => setSeverity(s)}
            data-testid={`severity-${s}`}
          >
            {s === 'all' ? 'All' : s === 'warning' ? 'Warning and above' : 'Critical only'}
          </button>
        ))}
        <span className="muted small">
          {anomalies.data ? `${items.length} of ${anomalies.data.total} events over the whole history` : ''}
        </span>
      </div>
      {anomalies.error && <ErrorState error={anomalies.error} what="Anomaly detection" />}
      {anomalies.isLoading && <Loading>Scanning the history for anomalies…</Loading>}
      {anomalies.data && (
        <div className="table-wrap">
          <table data-testid="alerts-table">
            <thead>
              <tr>
                <th>Severity</th>
                <th>Kind</th>
                <th>Start</th>
                <th>End</th>
                <th>Evidence</th>
              </tr>
            </thead>
            <tbody>
              {items.map((e) => (
                <tr key={e.id}>
                  <td>
                    <span className={`pill ${e.severity === 'critical' ? 'alarm' : 'warning'}`}>{e.severity}</span>
                  </td>
                  <td>{e.kind.replaceAll('_', ' ')}</td>
                  <td className="small">{formatDateTime(e.start)}</td>
                  <td className="small">{formatDateTime(e.end)}</td>
                  <td>
                    {e.message} <span className="muted small">({e.signals.join(', ')})</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function RulCard({
  rul,
  error,
}: {
  rul:
    | {
        status: string;
        reason?: string | undefined;
        soh: number | null;
        fadePerYear: number | null;
        endOfLife: number | null;
        endOfLifeInterval: [number, number] | null;
        endOfLifeSoh: number;
        historyDays: number;
      }
    | undefined;
  error: { message: string } | null;
}) {
  return (
    <div className="panel" data-testid="rul-card">
      <h3>State of health and remaining life</h3>
      {error && <ErrorState error={error} what="Remaining life" />}
      {!rul && !error && <Loading />}
      {rul && (
        <dl className="facts">
          <dt>SOH now</dt>
          <dd>{rul.soh === null ? '—' : `${rul.soh.toFixed(1)} %`}</dd>
          <dt>Fade</dt>
          <dd>{rul.fadePerYear === null ? '—' : `${rul.fadePerYear.toFixed(2)} %/year`}</dd>
          <dt>Reaches {rul.endOfLifeSoh} %</dt>
          <dd>{rul.status === 'ok' && rul.endOfLife ? formatDateTime(rul.endOfLife).slice(0, 10) : '—'}</dd>
          <dt>80 % interval</dt>
          <dd>
            {rul.endOfLifeInterval && Number.isFinite(rul.endOfLifeInterval[1])
              ? `${formatDateTime(rul.endOfLifeInterval[0]).slice(0, 10)} – ${formatDateTime(rul.endOfLifeInterval[1]).slice(0, 10)}`
              : '—'}
          </dd>
        </dl>
      )}
      {rul?.status === 'insufficient_history' && <p className="muted small">Not enough to tell yet: {rul.reason}.</p>}
    </div>
  );
}

function ForecastChart({
  deviceId,
  signal,
  label,
  unit,
}: {
  deviceId: string;
  signal: string;
  label: string;
  unit: string;
}) {
  const forecast = trpc.analytics.forecast.useQuery({ deviceId, signal, horizonHours: 24 });
  const to = forecast.data?.trainedOn.to;
  const history = trpc.history.series.useQuery(
    { deviceId, signals: [signal], from: (to ?? 0) - 86_400_000, to: to ?? 1, maxPoints: 200 },
    { enabled: to !== undefined },
  );
  const data = useMemo(() => {
    const past = history.data?.series[0];
    const rows: { t: number; actual?: number; forecast?: number; band?: [number, number] }[] = past
      ? past.t.map((t, i) => ({ t, actual: past.mean[i]! }))
      : [];
    for (const p of forecast.data?.points ?? []) rows.push({ t: p.t, forecast: p.value, band: [p.lower, p.upper] });
    return rows;
  }, [history.data, forecast.data]);
  if (forecast.error) return <ErrorState error={forecast.error} what={`${label} forecast`} />;
  const first = data[0]?.t ?? 0;
  const last = data.at(-1)?.t ?? 0;
  return (
    <figure className="chart" data-testid="forecast-chart" data-points={data.length}>
      <figcaption>
        {label}: last day and next 24 h <span className="muted">({unit}, band = 80 % interval)</span>
      </figcaption>
      <ResponsiveContainer width="100%" height={220}>
        <ComposedChart data={data} margin={{ top: 5, right: 12, bottom: 0, left: 0 }}>
          <CartesianGrid {...gridProps} />
          <XAxis {...timeAxisProps(first, last)} />
          <YAxis {...valueAxisProps} />
          <Tooltip {...tooltipProps} />
          <Area
            dataKey="band"
            stroke="none"
            fill="#8a5cf6"
            fillOpacity={0.2}
            isAnimationActive={false}
            name="80 % interval"
          />
          <Line dataKey="actual" stroke="#2a9d8f" dot={false} isAnimationActive={false} name="measured" />
          <Line
            dataKey="forecast"
            stroke="#8a5cf6"
            strokeDasharray="4 3"
            dot={false}
            isAnimationActive={false}
            name="forecast"
          />
        </ComposedChart>
      </ResponsiveContainer>
    </figure>
  );
}
