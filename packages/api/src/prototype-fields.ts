/**
 * The prototype's merged record (its `/bess` routes, read by its `bms_dashboard.html` and React
 * dashboard): field name -> signal file, as its data manager named them. Its clients read exactly
 * these names; the groups follow its prefixes (BMS, PCS, auxiliary, environment, safety).
 */
export const PROTOTYPE_FIELDS = [
  ['bms_soc', 'bms1_soc'],
  ['bms_soh', 'bms1_soh'],
  ['bms_voltage', 'bms1_v'],
  ['bms_current', 'bms1_c'],
  ['bms_cell_ave_v', 'bms1_cell_ave_v'],
  ['bms_cell_ave_t', 'bms1_cell_ave_t'],
  ['bms_cell_max_v', 'bms1_cell_max_v'],
  ['bms_cell_min_v', 'bms1_cell_min_v'],
  ['bms_cell_v_diff', 'bms1_cell_v_diff'],
  ['bms_cell_t_diff', 'bms1_cell_t_diff'],
  ['pcs_apparent_power', 'pcs1_ap'],
  ['pcs_dc_voltage', 'pcs1_dcv'],
  ['pcs_dc_current', 'pcs1_dcc'],
  ['pcs_ac_current_a', 'pcs1_ia'],
  ['pcs_ac_current_b', 'pcs1_ib'],
  ['pcs_ac_current_c', 'pcs1_ic'],
  ['pcs_ac_voltage_ab', 'pcs1_uab'],
  ['pcs_ac_voltage_bc', 'pcs1_ubc'],
  ['pcs_ac_voltage_ca', 'pcs1_uca'],
  ['pcs_temp_igbt', 'pcs1_t_igbt'],
  ['pcs_temp_environment', 'pcs1_t_env'],
  ['aux_outside_temp', 'ac1_outside_t'],
  ['aux_outwater_temp', 'ac1_outwater_t'],
  ['aux_return_water_pressure', 'ac1_rtnwater_pre'],
  ['aux_power_apparent', 'aux_m_ap'],
  ['env_humidity', 'dh1_humi'],
  ['env_temperature', 'dh1_temp'],
  ['safety_smoke_flag', 'fa1_smokeFlag'],
  // Names its bms_dashboard.html reads beside those (the same signals, or the first fire zone's).
  ['bms_cell_avg_temp', 'bms1_cell_ave_t'],
  ['bms_cell_voltage_diff', 'bms1_cell_v_diff'],
  ['bms_cell_temp_diff', 'bms1_cell_t_diff'],
  ['safety_fire_co_1', 'fa1_co'],
  ['safety_smoke_flag_1', 'fa1_smokeFlag'],
] as const satisfies readonly (readonly [field: string, signal: string])[];

/** Fields the prototype typed as booleans (a detector's flag), sent as true or false. */
const FLAG_FIELDS = ['safety_smoke_flag'] as const;
export const PROTOTYPE_FLAGS: ReadonlySet<string> = new Set(FLAG_FIELDS);

type BessField = (typeof PROTOTYPE_FIELDS)[number][0];
type FlagField = (typeof FLAG_FIELDS)[number];
/** The prototype's merged record: the grid time and every field as of it, null where no reading is fresh. */
export type BessRecord = { timestamp: string } & { [F in Exclude<BessField, FlagField>]: number | null } & {
  [F in FlagField]: boolean | null;
};
