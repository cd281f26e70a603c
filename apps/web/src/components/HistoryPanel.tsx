import { fieldSpec } from '@bess/core/catalog';
import { memo, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import {
  Area,
  CartesianGrid,
  ComposedChart,
  Line,
  ReferenceArea,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { gridProps, timeAxisProps, tooltipProps, valueAxisProps } from './chartStyle';
import { formatDateTime } from '../lib/format';
import { trpc } from '../trpc';
import { Empty, ErrorState, Loading } from './States';
import { ChartPlaceholder } from './TimeChart';
import { withGaps } from '../lib/gaps';
import { displayOf } from '../lib/units';
import { labelledIds } from '../lib/markers';
import { useStaged } from '../lib/staged';
import { TimeInput } from './TimeInput';
import { href, MAX_SIGNALS, navigate, type TimeRange } from '../lib/route';
import {
  DAY,
  dataSpan,
  FIXED_SIGNALS,
  HISTORY_FIELDS,
  historyInputs,
  linkedExtras,
  MAX_POINTS,
  openingRange,
} from '../lib/opening';

const PRESETS = [
  { key: 'day', label: 'Last day', ms: DAY },
  { key: 'week', label: 'Last week', ms: 7 * DAY },
  { key: 'month', label: 'Last month', ms: 30 * DAY },
  { key: 'all', label: 'All', ms: Infinity },
] as const;

/** A signal the picker offers: the device summary's catalogue names and units. */
interface SignalOption {
  signal: string;
  label: string;
  unit: string;
  subsystem: string;
}
const SUBSYSTEM_NAMES: Record<string, string> = {
  bms: 'Battery (BMS)',
  pcs: 'Power conversion (PCS)',
  cooling: 'Cooling',
  aux: 'Auxiliary supply',
  env: 'Enclosure',
  safety: 'Fire and gas',
  other: 'Other',
};

export default function HistoryPanel({
  deviceId,
  first,
  last,
  catalogue,
  initialRange,
  initialSignals = [],
}: {
  deviceId: string;
  first: string | null;
  last: string | null;
  /** Every signal the cabinet logs, for the picker. */
  catalogue: SignalOption[];
  /** A range from a link (an alarm's time, a colleague's view), instead of the last day. */
  initialRange?: TimeRange;
  /** Signals charted beside the fixed ones, from a link. */
  initialSignals?: string[];
}) {
  const { start, end } = dataSpan(first, last);
  const [range, setRange] = useState(() => openingRange(first, last, initialRange));
  const [extra, setExtra] = useState<string[]>(() => linkedExtras(initialSignals, catalogue));
  const inputs = historyInputs(deviceId, extra, range);
  const signals = inputs.series.signals;
  // The view lives in the URL, so a link shows a colleague the same range and signals. Each change
  // is a history entry: back and forward step through them. A view opened without a range in its
  // link only fills in its entry, so back still leaves it.
  const synced = useRef(initialRange !== undefined);
  useEffect(() => {
    const next = href({
      page: 'device',
      deviceId,
      tab: 'history',
      range: { from: range.from, to: range.to },
      ...(extra.length ? { signals: extra } : {}),
    });
    navigate(next, synced.current ? 'push' : 'replace');
    synced.current = true;
  }, [deviceId, range.from, range.to, extra]);
  // Back and forward: the URL's range and signals become the view's again.
  useEffect(() => {
    if (!initialRange) return;
    setRange((r) =>
      r.from === initialRange.from && r.to === initialRange.to ? r : { ...initialRange, preset: 'custom' },
    );
  }, [initialRange?.from, initialRange?.to]);
  const linkedSignals = initialSignals.join(',');
  useEffect(() => {
    const wanted = linkedSignals ? linkedExtras(linkedSignals.split(','), catalogue) : [];
    setExtra((x) => (x.join(',') === wanted.join(',') ? x : wanted));
  }, [linkedSignals]);
  const options = useMemo(() => {
    const groups = new Map<string, SignalOption[]>();
    for (const c of catalogue)
      if (c.subsystem !== 'cell' && !FIXED_SIGNALS.includes(c.signal) && !extra.includes(c.signal))
        groups.set(c.subsystem, [...(groups.get(c.subsystem) ?? []), c]);
    return [...groups];
  }, [catalogue, extra]);
  const history = trpc.history.series.useQuery(inputs.series, { placeholderData: (prev) => prev });
  const anomalies = trpc.analytics.anomalies.useQuery(inputs.anomalies);
  const drawn = useStaged(history.data !== undefined, signals.length);
  // Charts are memoised: each keeps the same markers, range and zoom handler until they change.
  const markers = useMemo(() => {
    const bySignal = new Map<string, Marker[]>();
    for (const signal of signals) {
      const found = (anomalies.data?.items ?? []).filter((e) => e.signals.includes(signal) || e.signals.includes('*'));
      bySignal.set(signal, found.length ? found : NO_MARKERS);
    }
    return bySignal;
  }, [anomalies.data, signals.join(',')]);
  const markersFor = (signal: string) => markers.get(signal) ?? NO_MARKERS;
  const domain = useMemo<[number, number]>(() => [range.from, range.to], [range.from, range.to]);

  // A new history entry (the URL effect above): back returns to the range before the zoom.
  const zoom = useCallback((from: number, to: number) => setRange({ from, to, preset: 'custom' }), []);
  const pick = (preset: (typeof PRESETS)[number]) =>
    setRange({ from: preset.ms === Infinity ? start : Math.max(start, end - preset.ms), to: end, preset: preset.key });
  const exportQuery = `from=${new Date(range.from).toISOString()}&to=${new Date(range.to).toISOString()}`;

  return (
    <div>
      <div className="controls" role="group" aria-label="History range">
        {PRESETS.map((p) => (
          <button
            key={p.key}
            type="button"
            className={range.preset === p.key ? 'active' : ''}
            onClick={() => pick(p)}
            data-testid={`preset-${p.key}`}
          >
            {p.label}
          </button>
        ))}
        <TimeInput
          label="From"
          value={range.from}
          onChange={(from) => setRange((r) => ({ ...r, from, preset: 'custom' }))}
          testId="range-from"
        />
        <TimeInput
          label="To"
          value={range.to}
          onChange={(to) => setRange((r) => ({ ...r, to, preset: 'custom' }))}
          testId="range-to"
        />
        <label>
          Add a signal{' '}
          <select
            value=""
            disabled={extra.length >= MAX_SIGNALS}
            onChange={(e) => e.target.value && setExtra((x) => [...x, e.target.value])}
            data-testid="signal-picker"
          >
            <option value="">Choose…</option>
            {options.map(([subsystem, list]) => (
              <optgroup key={subsystem} label={SUBSYSTEM_NAMES[subsystem] ?? subsystem}>
                {list.map((o) => (
                  <option key={o.signal} value={o.signal}>
                    {o.label}
                    {o.unit ? ` (${o.unit})` : ''}
                  </option>
                ))}
              </optgroup>
            ))}
          </select>
        </label>
        <a
          className="button"
          href={`/bms/${encodeURIComponent(deviceId)}/export.csv?${exportQuery}`}
          download
          data-testid="download-bms"
        >
          ⤓ BMS CSV
        </a>
        <a className="button" href={`/pcs/${encodeURIComponent(deviceId)}/export.csv?${exportQuery}`} download>
          ⤓ PCS CSV
        </a>
      </div>
      <p className="muted small" data-testid="history-range">
        {formatDateTime(range.from)} – {formatDateTime(range.to)}, at most {MAX_POINTS} points per chart (min–max band
        and mean per bucket). Drag across a chart to zoom every chart in; Back returns.
      </p>
      {history.error && <ErrorState error={history.error} what="History" />}
      {history.isLoading && <Loading />}
      {history.data && (
        <div className="grid" data-testid="history-charts">
          {HISTORY_FIELDS.map((f, i) => {
            const series = history.data.series[i];
            const spec = fieldSpec(f.kind, f.field)!;
            if (!series || series.t.length === 0)
              return <Empty key={f.field}>No {spec.label.toLowerCase()} readings in this range.</Empty>;
            if (i >= drawn)
              return (
                <ChartPlaceholder
                  key={f.field}
                  title={spec.label}
                  unit={displayOf(spec.signal, spec.unit).unit}
                  height={240}
                />
              );
            return (
              <BandChart
                key={f.field}
                title={spec.label}
                {...displayOf(spec.signal, spec.unit)}
                series={series}
                markers={markersFor(spec.signal)}
                domain={domain}
                onZoom={zoom}
              />
            );
          })}
          {extra.map((signal, k) => {
            const series = history.data.series[FIXED_SIGNALS.length + k];
            const spec = catalogue.find((c) => c.signal === signal)!;
            if (FIXED_SIGNALS.length + k >= drawn)
              return (
                <ChartPlaceholder
                  key={signal}
                  title={spec.label}
                  unit={displayOf(signal, spec.unit).unit}
                  height={240}
                />
              );
            return series && series.t.length > 0 ? (
              <div key={signal} className="picked">
                <BandChart
                  title={spec.label}
                  {...displayOf(signal, spec.unit)}
                  series={series}
                  markers={markersFor(signal)}
                  domain={domain}
                  onZoom={zoom}
                />
                <button
                  type="button"
                  className="ghost remove"
                  aria-label={`Remove ${spec.label}`}
                  onClick={() => setExtra((x) => x.filter((s) => s !== signal))}
                >
                  ×
                </button>
              </div>
            ) : (
              <Empty key={signal}>No {spec.label.toLowerCase()} readings in this range.</Empty>
            );
          })}
        </div>
      )}
    </div>
  );
}

interface Marker {
  id: string;
  start: number;
  end: number;
  severity: string;
  kind: string;
}

const NO_MARKERS: Marker[] = [];

/** Narrowest range a drag zooms to: below it a slip of the mouse would zoom into nothing. */
const MIN_ZOOM_MS = 60_000;

const BandChart = memo(function BandChart({
  title,
  unit,
  series,
  markers,
  domain,
  onZoom,
  factor = 1,
  fromZero = false,
}: {
  title: string;
  unit: string;
  factor?: number;
  fromZero?: boolean;
  series: { t: number[]; min: number[]; max: number[]; mean: number[] };
  markers: Marker[];
  /** The view's range (epoch ms): every chart of the view on the same time axis. */
  domain: [number, number];
  /** A range dragged across the chart: the view's range becomes it, fetched at finer buckets. */
  onZoom: (from: number, to: number) => void;
}) {
  const [drag, setDrag] = useState<{ from: number; to: number } | null>(null);
  const at = (state: { activeLabel?: string | number | undefined } | null | undefined): number | null => {
    const t = Number(state?.activeLabel);
    return Number.isFinite(t) ? t : null;
  };
  const data = useMemo(
    () =>
      withGaps(
        series.t.map((t, i) => ({
          t,
          band: [series.min[i]! * factor, series.max[i]! * factor],
          mean: series.mean[i]! * factor,
        })),
        ['band', 'mean'],
      ),
    [series, factor],
  );
  const [from, to] = domain;
  const span = to - from;
  const labelled = useMemo(() => labelledIds(markers, span), [markers, span]);
  return (
    <figure
      className="chart"
      data-testid="history-chart"
      data-points={data.length}
      data-markers={markers.length}
      data-from={from}
      data-to={to}
      data-first-bucket={series.t[0] ?? ''}
      data-last-bucket={series.t.at(-1) ?? ''}
      aria-label={title}
    >
      <figcaption>
        {title} <span className="muted">({unit})</span>
      </figcaption>
      <ResponsiveContainer width="100%" height={240}>
        <ComposedChart
          data={data}
          margin={{ top: 5, right: 28, bottom: 0, left: 0 }}
          // One crosshair for every chart of the view, by time (their buckets need not line up).
          syncId="history"
          syncMethod="value"
          onMouseDown={(state) => {
            const t = at(state);
            if (t !== null) setDrag({ from: t, to: t });
          }}
          onMouseMove={(state) => {
            const t = at(state);
            if (drag && t !== null) setDrag({ ...drag, to: t });
          }}
          onMouseUp={() => {
            if (drag && Math.abs(drag.to - drag.from) >= MIN_ZOOM_MS)
              onZoom(Math.min(drag.from, drag.to), Math.max(drag.from, drag.to));
            setDrag(null);
          }}
          onMouseLeave={() => setDrag(null)}
        >
          <CartesianGrid {...gridProps} />
          <XAxis {...timeAxisProps(from, to)} />
          <YAxis {...valueAxisProps} {...(fromZero ? { domain: [0, 'auto'] as [number, string] } : {})} />
          <Tooltip {...tooltipProps} />
          {markers.map((m) => (
            // Anomalies of this signal (or the whole device) as shaded spans; at least a sliver wide so short spikes show.
            <ReferenceArea
              key={m.id}
              x1={m.start}
              x2={Math.max(m.end, m.start + span / 300)}
              fill={m.severity === 'critical' ? '#d64545' : '#e9a23b'}
              fillOpacity={0.25}
              ifOverflow="hidden"
              {...(labelled.has(m.id)
                ? {
                    label: {
                      value: m.kind.replaceAll('_', ' '),
                      position: 'insideTop' as const,
                      fontSize: 10,
                      fill: 'var(--muted)',
                    },
                  }
                : {})}
            />
          ))}
          <Area
            dataKey="band"
            stroke="none"
            fill="#2a9d8f"
            fillOpacity={0.25}
            isAnimationActive={false}
            name="min–max"
          />
          <Line dataKey="mean" stroke="#2a9d8f" dot={false} strokeWidth={1.4} isAnimationActive={false} name="mean" />
          {drag && drag.to !== drag.from && (
            <ReferenceArea x1={drag.from} x2={drag.to} fill="var(--accent, #2a9d8f)" fillOpacity={0.15} />
          )}
        </ComposedChart>
      </ResponsiveContainer>
    </figure>
  );
});
