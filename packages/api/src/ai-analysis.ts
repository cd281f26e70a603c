import {
  CABINET,
  describeSignal,
  detectAnomalies,
  forecastSignal,
  remainingUsefulLife,
  type AnomalyEvent,
  type AnomalyKind,
  type BessDataset,
} from '@bess/core';

/**
 * The prototype's `/ai/*` answers (a language model's Markdown about posted records), written by
 * this project's own analytics instead: the same question types, answered from the data itself.
 */
export const ANALYSES = {
  anomaly: 'Anomalies the detector finds in the period, worst first',
  performance: 'Energy charged and discharged, equivalent full cycles, SOC and temperature ranges',
  degradation: 'State of health, its fade per year and the expected end of life',
  safety: 'Safety-relevant events and the fire, gas and enclosure readings',
  forecasting: 'SOC and hottest-cell temperature over the next 24 hours, with 80 % intervals',
} as const;
export type AnalysisType = keyof typeof ANALYSES;

/** The prototype's other names for the same questions. */
const ALIASES: Record<string, AnalysisType> = { health: 'degradation', events: 'safety', forecast: 'forecasting' };

/** Question types only a language model answered in the prototype. */
export const UNANSWERED = ['regulatory', 'compliance', 'financial', 'custom'] as const;

export function analysisType(promptType: string): AnalysisType | undefined {
  if (promptType in ANALYSES) return promptType as AnalysisType;
  return ALIASES[promptType];
}

/** A report covers at most this much data: detection reads every reading in the range. */
export const MAX_RANGE_MS = 7 * 86_400_000;

const SAFETY_KINDS: readonly AnomalyKind[] = [
  'cell_overtemp',
  'fast_temp_rise',
  'pack_overtemp',
  'cell_overvoltage',
  'smoke_detected',
  'co_high',
  'voc_high',
  'fire_alarm',
  'detector_overtemp',
  'enclosure_overtemp',
  'enclosure_humidity',
  'igbt_overtemp',
];
const SEVERITY_ORDER = { critical: 0, warning: 1, info: 2 } as const;
/** Below this much energy each way a ratio is noise from a cabinet at rest. */
const MIN_THROUGHPUT_KWH = 1;

const utc = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
const fixed = (v: number | null | undefined, digits: number) =>
  v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);

export interface AnalysisRange {
  from: number;
  to: number;
  /** The posted records, when the range came from them. */
  records?: number;
  /** True when the asked range was longer than MAX_RANGE_MS and only its end is covered. */
  clipped: boolean;
}

/** The Markdown report of one analysis of a device over a range. */
export async function analyse(
  dataset: BessDataset,
  deviceId: string,
  type: AnalysisType,
  range: AnalysisRange,
): Promise<string> {
  const title = `## ${type[0]!.toUpperCase()}${type.slice(1)} analysis: ${deviceId}`;
  const period =
    `Period: ${utc(range.from)} to ${utc(range.to)} UTC` +
    (range.records !== undefined ? ` (${range.records} records posted)` : '') +
    (range.clipped ? `. Only the last ${MAX_RANGE_MS / 86_400_000} days of the range are covered.` : '.');
  const body = await SECTIONS[type](dataset, deviceId, range);
  return [title, '', period, '', ...body, '', '_Computed by the platform’s own analytics; no language model._'].join(
    '\n',
  );
}

type Section = (dataset: BessDataset, deviceId: string, range: AnalysisRange) => Promise<string[]>;

const SECTIONS: Record<AnalysisType, Section> = {
  async anomaly(dataset, deviceId, range) {
    const events = await detectAnomalies(dataset, deviceId, { from: range.from, to: range.to });
    return eventReport(events, 'No anomalies found in this period.');
  },

  async safety(dataset, deviceId, range) {
    const events = (await detectAnomalies(dataset, deviceId, { from: range.from, to: range.to })).filter((e) =>
      SAFETY_KINDS.includes(e.kind),
    );
    const readings = await maxima(dataset, deviceId, range, [
      ['fa1_smokeFlag', 'Smoke flag (zone 1)', 0],
      ['fa1_co', 'CO (zone 1), ppm', 0],
      ['fa1_voc', 'VOC (zone 1), ppm', 0],
      ['fa1_level', 'Fire alarm level (zone 1)', 0],
      ['bms1_cell_max_t', 'Hottest cell, °C', 1],
      ['dh1_temp', 'Enclosure temperature, °C', 1],
      ['dh1_humi', 'Enclosure humidity, %', 0],
    ]);
    return [...eventReport(events, 'No safety-relevant events in this period.'), '', ...readings];
  },

  async performance(dataset, deviceId, range) {
    const [voltage, current] = await Promise.all([
      series(dataset, deviceId, 'bms1_v', range),
      series(dataset, deviceId, 'bms1_c', range),
    ]);
    let charged = 0;
    let discharged = 0;
    if (voltage && current) {
      const volts = new Map(voltage.t.map((t, k) => [t, voltage.mean[k]!]));
      current.t.forEach((t, k) => {
        const v = volts.get(t);
        if (v === undefined) return;
        // Positive pack current discharges; each bucket's mean power for the bucket's length.
        const kwh = (v * current.mean[k]! * current.bucketMs) / 3_600_000 / 1000;
        if (kwh > 0) discharged += kwh;
        else charged -= kwh;
      });
    }
    const ranges = await maxima(
      dataset,
      deviceId,
      range,
      [
        ['bms1_soc', 'SOC, %', 1],
        ['bms1_cell_max_t', 'Hottest cell, °C', 1],
        ['pcs1_t_igbt', 'IGBT, °C', 1],
      ],
      true,
    );
    return [
      '| Figure | Value |',
      '|---|---|',
      `| Energy charged | ${fixed(charged, 1)} kWh |`,
      `| Energy discharged | ${fixed(discharged, 1)} kWh |`,
      `| Round-trip efficiency (discharged / charged) | ${charged >= MIN_THROUGHPUT_KWH && discharged >= MIN_THROUGHPUT_KWH ? `${fixed((100 * discharged) / charged, 1)} %` : '—'} |`,
      `| Equivalent full cycles (${CABINET.capacityKwh} kWh rated) | ${fixed(discharged / CABINET.capacityKwh, 2)} |`,
      '',
      ...ranges,
    ];
  },

  async degradation(dataset, deviceId, range) {
    const life = await remainingUsefulLife(dataset, deviceId);
    const spread = await maxima(dataset, deviceId, range, [['bms1_cell_v_diff', 'Cell voltage spread, V', 3]], true);
    const lines = ['| Figure | Value |', '|---|---|', `| State of health | ${fixed(life.soh, 1)} % |`];
    if (life.status === 'ok') {
      lines.push(
        `| SOH fade | ${fixed(life.fadePerYear, 2)} %/year (80 %: ${fixed(life.fadeInterval?.[0], 2)} to ${fixed(life.fadeInterval?.[1], 2)}) |`,
        `| End of life (${life.endOfLifeSoh} % SOH) | ${life.endOfLife ? utc(life.endOfLife).slice(0, 10) : '—'} (80 %: ${life.endOfLifeInterval ? life.endOfLifeInterval.map((t) => utc(t).slice(0, 10)).join(' to ') : '—'}) |`,
      );
    } else lines.push(`| Remaining life | not estimated: ${life.reason ?? life.status} |`);
    lines.push(`| SOH history used | ${fixed(life.historyDays, 0)} days |`);
    return [...lines, '', ...spread];
  },

  async forecasting(dataset, deviceId) {
    const out: string[] = [];
    for (const [signal, label, digits] of [
      ['bms1_soc', 'SOC, %', 1],
      ['bms1_cell_max_t', 'Hottest cell, °C', 1],
    ] as const) {
      const forecast = await forecastSignal(dataset, deviceId, signal, 24).catch(() => null);
      if (!forecast || forecast.points.length === 0) {
        out.push(`${label}: no forecast (too little history).`, '');
        continue;
      }
      const every = Math.max(1, Math.floor(forecast.points.length / 8));
      // The interval is statistical; the signal cannot leave its physical range.
      const [low, high] = describeSignal(signal).range;
      const clamp = (v: number) => Math.min(high, Math.max(low, v));
      out.push(
        `**${label}**, from the data’s last reading`,
        '',
        '| Time (UTC) | Forecast | 80 % interval |',
        '|---|---|---|',
      );
      for (let k = every - 1; k < forecast.points.length; k += every) {
        const p = forecast.points[k]!;
        out.push(
          `| ${utc(p.t)} | ${fixed(clamp(p.value), digits)} | ${fixed(clamp(p.lower), digits)} to ${fixed(clamp(p.upper), digits)} |`,
        );
      }
      out.push('');
    }
    return out;
  },
};

function eventReport(events: AnomalyEvent[], none: string): string[] {
  if (events.length === 0) return [none];
  const counts = (['critical', 'warning', 'info'] as const)
    .map((s) => [s, events.filter((e) => e.severity === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`);
  const worst = [...events].sort(
    (a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || a.start - b.start,
  );
  const shown = worst.slice(0, 20);
  return [
    `${events.length} events: ${counts.join(', ')}.`,
    '',
    '| Start (UTC) | End (UTC) | Severity | Kind | Signals | Finding |',
    '|---|---|---|---|---|---|',
    ...shown.map(
      (e) =>
        `| ${utc(e.start)} | ${utc(e.end)} | ${e.severity} | ${e.kind} | ${e.signals.slice(0, 3).join(', ')}${e.signals.length > 3 ? ', …' : ''} | ${e.message.replace(/\|/g, '/')} |`,
    ),
    ...(events.length > shown.length ? ['', `… and ${events.length - shown.length} more.`] : []),
  ];
}

async function series(dataset: BessDataset, deviceId: string, signal: string, range: AnalysisRange) {
  if (!dataset.device(deviceId).signals.some((s) => s.signal === signal)) return null;
  return dataset.downsample(deviceId, signal, range.from, range.to, 2000);
}

/** A table of each signal's extremes over the range (max only, or min and max). */
async function maxima(
  dataset: BessDataset,
  deviceId: string,
  range: AnalysisRange,
  signals: readonly (readonly [signal: string, label: string, digits: number])[],
  withMin = false,
): Promise<string[]> {
  const rows: string[] = [];
  for (const [signal, label, digits] of signals) {
    const s = await series(dataset, deviceId, signal, range);
    if (!s || s.t.length === 0) continue;
    const max = Math.max(...s.max);
    rows.push(
      withMin
        ? `| ${label} | ${fixed(Math.min(...s.min), digits)} | ${fixed(max, digits)} |`
        : `| ${label} | ${fixed(max, digits)} |`,
    );
  }
  if (rows.length === 0) return [];
  return withMin
    ? ['| Reading | Lowest | Highest |', '|---|---|---|', ...rows]
    : ['| Reading | Highest |', '|---|---|', ...rows];
}
