import { CABINET } from '@bess/core/catalog';
import { useEffect, useRef, useState } from 'react';
import { formatDateTime, formatValue } from '../lib/format';
import { useUrlParam } from '../lib/route';
import { displayOf } from '../lib/units';
import { trpc } from '../trpc';
import { Empty, ErrorState, Loading } from './States';
import { TimeChart } from './TimeChart';

type Quantity = 'voltage' | 'temperature';
const STEP = 10 * 60_000;

/**
 * Deviation from the cell's pack median, on a diverging scale: pale at the median, blue below, red
 * above, deeper with the size of the deviation, saturating at `half`. One far-out cell then stands
 * out without colouring its healthy neighbours.
 */
function heat(deviation: number | null, half: number): string {
  if (deviation === null) return 'var(--empty-cell)';
  const x = Math.max(-1, Math.min(1, deviation / half));
  return `hsl(${x < 0 ? 215 : 5} ${Math.round(20 + 60 * Math.abs(x))}% ${Math.round(90 - 45 * Math.abs(x))}%)`;
}

/** The fixed scale's half-width, and the smallest automatic one (below it, differences are sensor noise). */
const SCALE = {
  voltage: { fixed: 0.05, floor: 0.005, unit: 'mV', factor: 1000 },
  temperature: { fixed: 5, floor: 0.5, unit: '°C', factor: 1 },
} as const;

export default function CellsPanel({
  deviceId,
  hasCells,
  first,
  last,
}: {
  deviceId: string;
  hasCells: boolean;
  first: string | null;
  last: string | null;
}) {
  if (!hasCells) return <Empty>This cabinet logs no per-cell data (no bms1_p*_v* / bms1_p*_t* files).</Empty>;
  return <Cells deviceId={deviceId} first={Date.parse(first!)} last={Date.parse(last!)} />;
}

/** `<pack>-<cell>` of a cell that exists, else null. */
function parseCell(value: string | null): { pack: number; cell: number } | null {
  const m = /^(\d{1,2})-(\d{1,3})$/.exec(value ?? '');
  if (!m) return null;
  const [pack, cell] = [Number(m[1]), Number(m[2])];
  return pack >= 1 && pack <= CABINET.packs && cell >= 1 && cell <= CABINET.cellsPerPack ? { pack, cell } : null;
}

function Cells({ deviceId, first, last }: { deviceId: string; first: number; last: number }) {
  const newest = Math.floor(last / STEP) * STEP;
  // The instant, quantity, scale and opened cell are in the URL: a link shows the same snapshot.
  const [at, setAt] = useUrlParam(
    'at',
    (v) => (v !== null && /^\d{1,15}$/.test(v) ? Math.min(last, Math.max(first, Number(v))) : newest),
    (t) => (t === newest ? null : String(t)),
  );
  const [quantity, setQuantity] = useUrlParam<Quantity>(
    'quantity',
    (v) => (v === 'temperature' ? 'temperature' : 'voltage'),
    (q) => (q === 'voltage' ? null : q),
  );
  const [playing, setPlaying] = useState(false);
  const [fixedScale, setFixedScale] = useUrlParam(
    'scale',
    (v) => v === 'fixed',
    (fixed) => (fixed ? 'fixed' : null),
  );
  const [selected, setSelected] = useUrlParam('cell', parseCell, (c) => (c ? `${c.pack}-${c.cell}` : null));
  // One Tab stop for the whole heatmap: the arrow keys move between cells (roving tabindex).
  const [focus, setFocus] = useState({ pack: 1, cell: 1 });
  const heatmapRef = useRef<HTMLDivElement>(null);
  const moveFocus = (e: React.KeyboardEvent) => {
    const step: Record<string, [number, number]> = {
      ArrowLeft: [0, -1],
      ArrowRight: [0, 1],
      ArrowUp: [-1, 0],
      ArrowDown: [1, 0],
      Home: [0, -CABINET.cellsPerPack],
      End: [0, CABINET.cellsPerPack],
    };
    const move = step[e.key];
    if (!move) return;
    e.preventDefault();
    const next = {
      pack: Math.min(CABINET.packs, Math.max(1, focus.pack + move[0])),
      cell: Math.min(CABINET.cellsPerPack, Math.max(1, focus.cell + move[1])),
    };
    setFocus(next);
    heatmapRef.current
      ?.querySelector<HTMLButtonElement>(`[data-pack="${next.pack}"][data-cell="${next.cell}"]`)
      ?.focus();
  };
  const snapshot = trpc.cells.snapshot.useQuery({ deviceId, at }, { placeholderData: (prev) => prev });
  const stats = trpc.cells.stats.useQuery({ deviceId, from: first, to: last, maxPoints: 200 });

  useEffect(() => {
    if (!playing) return;
    const timer = setInterval(() => setAt((t) => (t + STEP > last ? first : t + STEP)), 600);
    return () => clearInterval(timer);
  }, [playing, first, last]);

  if (snapshot.error) return <ErrorState error={snapshot.error} what="Cell snapshot" />;
  if (!snapshot.data) return <Loading />;
  const values = snapshot.data.cells.map((c) => c[quantity]).filter((v): v is number => v !== null);
  const low = Math.min(...values);
  const high = Math.max(...values);
  const unit = quantity === 'voltage' ? 'V' : '°C';
  const median = (pack: number) => snapshot.data.packMedian.find((m) => m.pack === pack)?.[quantity] ?? null;
  const deviationOf = (c: (typeof snapshot.data.cells)[number]) => {
    const v = c[quantity];
    const m = median(c.pack);
    return v !== null && m !== null ? v - m : null;
  };
  const scale = SCALE[quantity];
  const worst = Math.max(0, ...snapshot.data.cells.map((c) => Math.abs(deviationOf(c) ?? 0)));
  const half = fixedScale ? scale.fixed : Math.max(scale.floor, worst);
  const shown = (d: number) =>
    `${d > 0 ? '+' : d < 0 ? '−' : ''}${(Math.abs(d) * scale.factor).toFixed(quantity === 'voltage' ? 0 : 1)} ${scale.unit}`;

  return (
    <div>
      <div className="controls" role="group" aria-label="Cell snapshot">
        <label>
          <input type="radio" checked={quantity === 'voltage'} onChange={() => setQuantity('voltage')} /> Voltage
        </label>
        <label>
          <input type="radio" checked={quantity === 'temperature'} onChange={() => setQuantity('temperature')} />{' '}
          Temperature
        </label>
        <button type="button" onClick={() => setPlaying((p) => !p)} data-testid="cells-play">
          {playing ? '❚❚ Stop' : '▶ Play'}
        </button>
        <input
          type="range"
          min={first}
          max={last}
          step={STEP}
          value={at}
          onChange={(e) => setAt(Number(e.target.value))}
          aria-label="Snapshot time"
          data-testid="cells-slider"
          className="slider"
        />
        <span data-testid="cells-time">{formatDateTime(at)}</span>
      </div>
      <p className="muted small">
        Spread{' '}
        {quantity === 'voltage'
          ? formatValue(snapshot.data.voltageSpread === null ? null : snapshot.data.voltageSpread * 1000, 'mV', 0)
          : formatValue(snapshot.data.temperatureSpread, unit)}{' '}
        · range {formatValue(low, unit)} – {formatValue(high, unit)}. Hover a cell for its value, click for its history.
      </p>
      <div
        className="heatmap"
        data-testid="heatmap"
        ref={heatmapRef}
        onKeyDown={moveFocus}
        role="group"
        aria-label="Cells by pack: arrow keys move, Enter opens a cell's history"
      >
        {Array.from({ length: CABINET.packs }, (_, p) => (
          <div className="heat-row" key={p}>
            <span className="heat-label">Pack {p + 1}</span>
            {snapshot.data.cells
              .filter((c) => c.pack === p + 1)
              .map((c) => {
                const v = c[quantity];
                const dev = deviationOf(c);
                return (
                  <button
                    type="button"
                    key={c.cell}
                    className="heat-cell"
                    data-testid="heat-cell"
                    data-pack={c.pack}
                    data-cell={c.cell}
                    tabIndex={focus.pack === c.pack && focus.cell === c.cell ? 0 : -1}
                    onFocus={() => setFocus({ pack: c.pack, cell: c.cell })}
                    data-value={v ?? ''}
                    style={{ background: heat(dev, half) }}
                    title={`Pack ${c.pack} cell ${c.cell}: ${formatValue(v, unit)} (${dev === null ? '—' : `${dev >= 0 ? '+' : ''}${quantity === 'voltage' ? `${(dev * 1000).toFixed(1)} mV` : `${dev.toFixed(1)} °C`}`} vs pack median)`}
                    onClick={() => setSelected({ pack: c.pack, cell: c.cell })}
                  />
                );
              })}
          </div>
        ))}
      </div>
      <div className="heat-legend" data-testid="heat-legend">
        <span>{shown(-half)}</span>
        <span
          className="heat-legend-bar"
          style={{
            background: `linear-gradient(to right, ${heat(-half, half)}, ${heat(0, half)}, ${heat(half, half)})`,
          }}
        />
        <span>{shown(half)}</span>
        <span className="muted small">from the pack median</span>
        <label className="check">
          <input
            type="checkbox"
            checked={fixedScale}
            onChange={(e) => setFixedScale(e.target.checked)}
            data-testid="heat-fixed"
          />{' '}
          Fixed scale (±{(scale.fixed * scale.factor).toFixed(0)} {scale.unit})
        </label>
      </div>
      {selected && (
        <CellHistory
          deviceId={deviceId}
          pack={selected.pack}
          cell={selected.cell}
          quantity={quantity}
          from={first}
          to={last}
        />
      )}
      <h2>
        Weakest and hottest cells ({formatDateTime(first)} – {formatDateTime(last)})
      </h2>
      {stats.error && <ErrorState error={stats.error} what="Cell statistics" />}
      {stats.data && (
        <div className="grid">
          <RankTable title="Lowest mean voltage" rows={stats.data.weakest} unit="V" />
          <RankTable title="Highest mean temperature" rows={stats.data.hottest} unit="°C" />
          <TimeChart
            title="Cell voltage spread over time"
            {...displayOf('bms1_cell_v_diff', 'V')}
            data={stats.data.spread.t.map((t, i) => ({ t, spread: stats.data.spread.voltage[i] ?? null }))}
            series={[{ key: 'spread', label: 'max − min of cell means', color: '#e76f51' }]}
          />
        </div>
      )}
    </div>
  );
}

function RankTable({
  title,
  rows,
  unit,
}: {
  title: string;
  rows: { pack: number; cell: number; mean: number; min: number; max: number; deviation: number }[];
  unit: string;
}) {
  return (
    <div className="panel">
      <h3>{title}</h3>
      <table data-testid="rank-table">
        <thead>
          <tr>
            <th>Cell</th>
            <th>Mean</th>
            <th>Min</th>
            <th>Max</th>
            <th>vs pack</th>
          </tr>
        </thead>
        <tbody>
          {rows.slice(0, 8).map((r) => (
            <tr key={`${r.pack}-${r.cell}`}>
              <td>
                P{r.pack} C{r.cell}
              </td>
              <td>{formatValue(r.mean, unit)}</td>
              <td>{formatValue(r.min, unit)}</td>
              <td>{formatValue(r.max, unit)}</td>
              <td>{unit === 'V' ? `${(r.deviation * 1000).toFixed(1)} mV` : `${r.deviation.toFixed(1)} °C`}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function CellHistory({
  deviceId,
  pack,
  cell,
  quantity,
  from,
  to,
}: {
  deviceId: string;
  pack: number;
  cell: number;
  quantity: Quantity;
  from: number;
  to: number;
}) {
  const history = trpc.cells.history.useQuery({ deviceId, pack, cell, quantity, from, to, maxPoints: 400 });
  if (history.error) return <ErrorState error={history.error} what={`Pack ${pack} cell ${cell}`} />;
  const h = history.data;
  if (!h) return <Loading />;
  return (
    <div data-testid="cell-history">
      <TimeChart
        title={`Pack ${pack} cell ${cell} ${quantity} against its pack's median`}
        unit={quantity === 'voltage' ? 'V' : '°C'}
        data={h.t.map((t, i) => ({
          t,
          mean: h.mean[i] ?? null,
          min: h.min[i] ?? null,
          max: h.max[i] ?? null,
          median: h.packMedian[i] ?? null,
        }))}
        series={[
          { key: 'median', label: `pack ${pack} median`, color: '#8a5cf6' },
          { key: 'max', label: 'cell max', color: '#e76f51' },
          { key: 'mean', label: 'cell mean', color: '#2a9d8f' },
          { key: 'min', label: 'cell min', color: '#264653' },
        ]}
      />
    </div>
  );
}
