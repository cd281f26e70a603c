import { fieldSpec, type RecordKind } from '@bess/core/catalog';
import { displayOf, type Display } from '../lib/units';
import { colorAt, type SeriesSpec } from './TimeChart';

/** Which record fields are drawn together, per chart. Labels and units come from the catalogue. */
export const CHART_GROUPS: Record<RecordKind, { title: string; fields: string[] }[]> = {
  bms: [
    { title: 'State of charge', fields: ['soc'] },
    { title: 'Pack voltage', fields: ['voltage'] },
    { title: 'Pack current', fields: ['current'] },
    { title: 'Cell voltages', fields: ['cell_max_voltage', 'cell_avg_voltage', 'cell_min_voltage'] },
    { title: 'Cell temperatures', fields: ['cell_max_temp', 'cell_avg_temp', 'cell_min_temp'] },
    { title: 'Cell voltage spread', fields: ['cell_voltage_diff'] },
    { title: 'Cell temperature spread', fields: ['cell_temp_diff'] },
  ],
  pcs: [
    { title: 'Apparent power', fields: ['apparent_power'] },
    { title: 'DC current', fields: ['dc_current'] },
    { title: 'DC voltage', fields: ['dc_voltage'] },
    { title: 'AC phase currents', fields: ['ac_current_a', 'ac_current_b', 'ac_current_c'] },
    { title: 'AC line voltages', fields: ['ac_voltage_ab', 'ac_voltage_bc', 'ac_voltage_ca'] },
    { title: 'PCS temperatures', fields: ['temp_igbt', 'temp_ambient', 'temp_environment'] },
  ],
};

export function seriesOf(kind: RecordKind, fields: string[]): { series: SeriesSpec[] } & Display {
  const specs = fields.map((f) => fieldSpec(kind, f)!);
  return {
    ...displayOf(specs[0]!.signal, specs[0]!.unit),
    series: specs.map((s, i) => ({ key: s.field!, label: s.label, color: colorAt(i) })),
  };
}
