/**
 * How a signal is drawn where its logged unit reads badly: cell voltage spreads in mV (as the
 * cards show them), and spreads on an axis from 0, since a spread is never negative.
 */
export interface Display {
  unit: string;
  /** Logged value x factor = drawn value. */
  factor: number;
  /** The value axis starts at 0. */
  fromZero: boolean;
}

const DISPLAY: Record<string, Omit<Display, 'unit'> & { unit?: string }> = {
  bms1_cell_v_diff: { unit: 'mV', factor: 1000, fromZero: true },
  bms1_cell_t_diff: { factor: 1, fromZero: true },
};

export function displayOf(signal: string, loggedUnit: string): Display {
  const d = DISPLAY[signal];
  return { unit: d?.unit ?? loggedUnit, factor: d?.factor ?? 1, fromZero: d?.fromZero ?? false };
}
