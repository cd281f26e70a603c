import type { Random } from './random.js';

/**
 * The dirt DATA.md warns about, each kind on one signal of a device so the
 * sample exercises all of them: what `applyDirt` does to a signal's lines.
 */
export const DIRT_BY_SIGNAL: Record<string, DirtKind> = {
  bms1_soc: 'bom',
  bms1_v: 'crlf',
  pcs1_ap: 'bad_values',
  bms1_c: 'duplicates',
  pcs1_dcv: 'out_of_order',
  bms1_soh: 'cut_off_last_line',
  pcs1_t_igbt: 'iso_timestamps',
  pcs1_t_a: 'fractional_seconds',
  dh1_humi: 'blank_lines',
};
export type DirtKind =
  | 'bom'
  | 'crlf'
  | 'bad_values'
  | 'duplicates'
  | 'out_of_order'
  | 'cut_off_last_line'
  | 'iso_timestamps'
  | 'fractional_seconds'
  | 'blank_lines';

/** Rewrites one chunk of `ts,value` lines (without line ends) in place. */
export function dirtyLines(kind: DirtKind | undefined, lines: string[], rng: Random): void {
  switch (kind) {
    case 'bad_values':
      for (let i = 0; i < lines.length; i++) {
        if (rng.next() < 0.004) lines[i] = `${lines[i]!.split(',')[0]},${['', 'NaN', 'err', ' '][rng.int(0, 4)]}`;
      }
      break;
    case 'duplicates':
      for (let i = lines.length - 1; i >= 0; i--) {
        const r = rng.next();
        if (r < 0.003) lines.splice(i + 1, 0, lines[i]!);
        else if (r < 0.004)
          lines.splice(i + 1, 0, `${lines[i]!.split(',')[0]},${(Number(lines[i]!.split(',')[1]) + 0.5).toFixed(1)}`);
      }
      break;
    case 'out_of_order':
      for (let i = 0; i + 1 < lines.length; i++) {
        if (rng.next() < 0.002) [lines[i], lines[i + 1]] = [lines[i + 1]!, lines[i]!];
      }
      break;
    case 'iso_timestamps':
      for (let i = 0; i < lines.length; i++)
        lines[i] = `${lines[i]!.slice(0, 10)}T${lines[i]!.slice(11, 19)}Z${lines[i]!.slice(19)}`;
      break;
    case 'fractional_seconds':
      for (let i = 0; i < lines.length; i++)
        lines[i] = `${lines[i]!.slice(0, 19)}.${rng.int(0, 1000).toString().padStart(3, '0')}${lines[i]!.slice(19)}`;
      break;
    case 'blank_lines':
      for (let i = lines.length - 1; i >= 0; i--) if (rng.next() < 0.02) lines.splice(i, 0, '');
      break;
    default:
      break;
  }
}
