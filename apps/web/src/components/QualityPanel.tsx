import { formatDateTime } from '../lib/format';

interface SignalRow {
  signal: string;
  label: string;
  unit: string;
  subsystem: string;
  rows: number;
  periodSeconds: number | null;
  coverage: number;
  gaps: number;
  first: string | null;
  last: string | null;
  quality: {
    linesRead: number;
    accepted: number;
    rejected: Record<string, number>;
    outOfOrder: number;
    outOfRange: number;
    parser: string;
  };
}

/** Per signal: how complete the data is and every line that was not a reading, by reason. */
export function QualityPanel({ signals }: { signals: SignalRow[] }) {
  const rows = signals.filter((s) => s.subsystem !== 'cell');
  const cells = signals.filter((s) => s.subsystem === 'cell');
  const rejectedTotal = (s: SignalRow) => Object.values(s.quality.rejected).reduce((a, b) => a + b, 0);
  return (
    <div>
      <p className="muted">
        {signals.length} signals{cells.length ? ` (${cells.length} per-cell files, summarised below)` : ''}. Every CSV
        line is either a reading or counted here with the reason it was rejected.
      </p>
      <div className="table-wrap">
        <table data-testid="quality-table">
          <thead>
            <tr>
              <th>Signal</th>
              <th>Period</th>
              <th>Readings</th>
              <th>Coverage</th>
              <th>Gaps</th>
              <th>Rejected</th>
              <th>Out of order</th>
              <th>Span</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((s) => (
              <tr key={s.signal}>
                <td>
                  <code>{s.signal}</code> <span className="muted">{s.label}</span>
                </td>
                <td>{s.periodSeconds === null ? '—' : `${s.periodSeconds} s`}</td>
                <td>{s.rows.toLocaleString('en')}</td>
                <td className={s.coverage < 0.95 ? 'warn' : ''}>{(s.coverage * 100).toFixed(1)} %</td>
                <td>{s.gaps}</td>
                <td
                  title={Object.entries(s.quality.rejected)
                    .filter(([, n]) => n > 0)
                    .map(([r, n]) => `${r}: ${n}`)
                    .join(', ')}
                >
                  {rejectedTotal(s) ? (
                    Object.entries(s.quality.rejected)
                      .filter(([, n]) => n > 0)
                      .map(([r, n]) => `${r.replaceAll('_', ' ')} ${n}`)
                      .join(', ')
                  ) : (
                    <span className="muted">none</span>
                  )}
                </td>
                <td>{s.quality.outOfOrder || ''}</td>
                <td className="small">
                  {formatDateTime(s.first)} – {formatDateTime(s.last)}
                </td>
              </tr>
            ))}
            {cells.length > 0 && (
              <tr>
                <td>
                  <code>bms1_p*_v*, bms1_p*_t*</code> <span className="muted">{cells.length} cell files</span>
                </td>
                <td>{cells[0]!.periodSeconds} s</td>
                <td>{cells.reduce((n, s) => n + s.rows, 0).toLocaleString('en')}</td>
                <td>{((cells.reduce((n, s) => n + s.coverage, 0) / cells.length) * 100).toFixed(1)} % avg</td>
                <td>{cells.reduce((n, s) => n + s.gaps, 0)}</td>
                <td>{cells.reduce((n, s) => n + rejectedTotal(s), 0) || <span className="muted">none</span>}</td>
                <td />
                <td />
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}
