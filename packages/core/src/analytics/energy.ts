import { BMS_SIGNALS } from '../catalog.js';
import type { BessDataset } from '../types.js';

/** Energy through a cabinet's pack over a span, from its logged pack voltage and current. */
export interface EnergyThroughput {
  from: number;
  to: number;
  /** Into the pack (current below zero), kWh. */
  chargedKwh: number;
  /** Out of the pack (current above zero), kWh. */
  dischargedKwh: number;
  /** Of the span, how much had fresh readings of both (0..1): the rest is not counted. */
  coverage: number;
}

const signalOf = (field: 'voltage' | 'current'): string => BMS_SIGNALS.find((s) => s.field === field)!.signal;

/**
 * Integrates pack power (V x I, positive current discharges) over [from, to]: each current
 * reading holds until the next, with the voltage of the same moment; before an outage (the next
 * reading later than the staleness limit) or at the end of the data, for one usual period only,
 * so an outage adds nothing. Null when the cabinet logs no pack voltage or current.
 */
export async function energyThroughput(
  dataset: BessDataset,
  deviceId: string,
  from: number,
  to: number,
): Promise<EnergyThroughput | null> {
  const info = dataset.device(deviceId);
  const current = info.signals.find((s) => s.signal === signalOf('current'));
  const voltage = info.signals.find((s) => s.signal === signalOf('voltage'));
  if (!current || !voltage || to <= from) return null;
  const stale = current.staleAfterMs ?? 0;
  const period = current.medianPeriodMs ?? 0;
  const [c, v] = await Promise.all([
    dataset.readSignal(deviceId, current.signal, from - stale, to, 1_000_000),
    dataset.readSignal(deviceId, voltage.signal, from - (voltage.staleAfterMs ?? 0), to, 1_000_000),
  ]);
  let charged = 0;
  let discharged = 0;
  let covered = 0;
  let j = -1;
  for (let i = 0; i < c.t.length; i++) {
    const next = i + 1 < c.t.length ? c.t[i + 1]! : Infinity;
    const held = next - c.t[i]! <= stale ? next : c.t[i]! + period;
    const start = Math.max(from, c.t[i]!);
    const end = Math.min(to, held);
    if (end <= start) continue;
    while (j + 1 < v.t.length && v.t[j + 1]! <= c.t[i]!) j++;
    if (j < 0 || c.t[i]! - v.t[j]! > (voltage.staleAfterMs ?? 0)) continue;
    const kwh = (v.v[j]! * c.v[i]! * (end - start)) / 3_600_000 / 1000;
    if (kwh > 0) discharged += kwh;
    else charged -= kwh;
    covered += end - start;
  }
  return { from, to, chargedKwh: charged, dischargedKwh: discharged, coverage: covered / (to - from) };
}
