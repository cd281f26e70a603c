import { describe, expect, expectTypeOf, it } from 'vitest';
import { BMS_SIGNALS, PCS_SIGNALS, type BmsField, type BmsRecord, type PcsRecord } from './catalog.js';

// Checked by `tsc` (the typecheck task) as much as by vitest: a wrong field fails to compile.
describe('record types from the catalogue', () => {
  it('types every field of a record as a nullable number, and only those fields', () => {
    expectTypeOf<BmsRecord['soc']>().toEqualTypeOf<number | null>();
    expectTypeOf<PcsRecord['ac_current_a']>().toEqualTypeOf<number | null>();
    expectTypeOf<keyof BmsRecord>().toEqualTypeOf<'timestamp' | BmsField>();
    expectTypeOf<BmsRecord>().not.toHaveProperty('bms_soc');
    expectTypeOf<BmsRecord>().not.toHaveProperty('apparent_power');
  });

  it('takes the field names from the catalogue entries', () => {
    expectTypeOf(BMS_SIGNALS[0].field).toEqualTypeOf<'soc'>();
    expect(BMS_SIGNALS.map((s) => s.field)).toContain('cell_voltage_diff');
    expect(PCS_SIGNALS.map((s) => s.field)).toContain('temp_igbt');
  });
});
