import { describe, expect, it } from 'vitest';
import {
  ago,
  formatClock,
  formatDateTime,
  formatValue,
  fromInputValue,
  setDisplayZone,
  timeTicks,
  toInputValue,
} from './format';
import { advance, freshCursor, resumeInput } from './resume';
import { parseRoute, href, withZone, zoneOf } from './route';
import { powerState, statusOf, worstStatus } from './status';
import { withGaps } from './gaps';
import { TimeWindow } from './time-window';
import { labelledIds } from './markers';

describe('TimeWindow', () => {
  const at = (t: number) => ({ t });
  it('keeps the points within its span of the newest, in order, and never grows past its capacity', () => {
    const w = new TimeWindow<{ t: number }>(10, 4);
    w.push(at(0), at(5));
    expect(w.push(at(12)).map((p) => p.t)).toEqual([5, 12]);
    for (let t = 13; t < 10_000; t++) w.push(at(t));
    expect(w.push(at(10_000)).map((p) => p.t)).toEqual([9997, 9998, 9999, 10_000]);
  });
  it('drops points it already holds, so a stream that resends its newest record does not draw it twice', () => {
    const w = new TimeWindow<{ t: number }>(100);
    w.replace([at(1), at(2), at(3)]);
    expect(w.push(at(3), at(2)).map((p) => p.t)).toEqual([1, 2, 3]);
    const before = w.push(at(4));
    expect(w.push(at(5))).not.toBe(before);
  });
});

describe('withGaps', () => {
  it('breaks the line where readings stop for more than three usual steps, and nowhere else', () => {
    const minute = 60_000;
    const times = [0, 1, 2, 3, 4, 304, 305, 306].map((m) => m * minute);
    const points = times.map((t) => ({ t, soc: t / minute }));
    const drawn = withGaps(points, ['soc']);
    expect(drawn).toHaveLength(points.length + 1);
    expect(drawn[5]).toEqual({ t: 154 * minute, soc: null });
    expect(withGaps(points.slice(0, 5), ['soc'])).toEqual(points.slice(0, 5));
  });
  it('keeps a series whose readings are irregular but never far apart', () => {
    const points = [0, 10, 30, 40, 65, 80].map((t) => ({ t, v: 1 }));
    expect(withGaps(points, ['v'])).toEqual(points);
  });
});

describe('resume bookkeeping', () => {
  it('resumes after the last event received, and starts fresh without one', () => {
    let c = freshCursor();
    expect(resumeInput({ deviceId: 'X', interval: 1 }, c)).toEqual({ deviceId: 'X', interval: 1 });
    c = advance(advance(c, '2024-03-01T00:00:00Z'), '2024-03-01T00:01:00Z');
    expect(c.received).toBe(2);
    expect(resumeInput({ deviceId: 'X', interval: 1 }, c)).toEqual({
      deviceId: 'X',
      interval: 1,
      lastEventId: '2024-03-01T00:01:00Z',
    });
  });
});

describe('time and unit formatting', () => {
  it('shows UTC clock times and dates as logged', () => {
    expect(formatClock('2024-03-01T13:05:09Z')).toBe('13:05:09');
    expect(formatDateTime(Date.UTC(2024, 2, 1, 13, 5))).toBe('2024-03-01 13:05 UTC');
    expect(formatDateTime(null)).toBe('—');
  });
  it('puts time ticks on whole steps, each label once, with the date when the range spans days', () => {
    const t = (d: number, h: number, m = 0) => Date.UTC(2024, 2, d, h, m);
    const within = timeTicks(t(1, 10, 7), t(1, 12, 7));
    expect(within.ticks.map(within.label)).toEqual(['10:30', '11:00', '11:30', '12:00']);
    const overnight = timeTicks(t(1, 22), t(2, 2));
    expect(overnight.ticks.map(overnight.label)).toEqual([
      '03-01 22:00',
      '03-01 23:00',
      '03-02 00:00',
      '03-02 01:00',
      '03-02 02:00',
    ]);
    const month = timeTicks(t(1, 0), t(31, 0));
    const labels = month.ticks.map(month.label);
    expect(new Set(labels).size).toBe(labels.length);
    expect(labels.length).toBeLessThanOrEqual(5);
    expect(labels.every((l) => /^03-\d\d$/.test(l))).toBe(true);
  });
  it('formats values with their unit and a dash for missing readings', () => {
    expect(formatValue(51.66, '%')).toBe('51.7 %');
    expect(formatValue(3.2871, 'V')).toBe('3.287 V');
    expect(formatValue(832.4, 'V')).toBe('832 V');
    expect(formatValue(null, '°C')).toBe('—');
  });
  it('reads and writes time inputs as 24-hour text in UTC, refusing what names no instant', () => {
    const t = Date.UTC(2024, 2, 1, 22, 30);
    expect(toInputValue(t)).toBe('2024-03-01 22:30');
    expect(fromInputValue(toInputValue(t))).toBe(t);
    expect(fromInputValue('2024-03-01T22:30')).toBe(t);
    expect(fromInputValue('garbage')).toBeUndefined();
    expect(fromInputValue('2024-02-31 10:00')).toBeUndefined();
    expect(fromInputValue('2024-03-01 24:10')).toBeUndefined();
    expect(ago('2024-03-01T00:00:00Z', Date.UTC(2024, 2, 1, 0, 0, 30))).toBe('30 s ago');
    expect(ago('2024-03-01T00:00:00Z', Date.UTC(2024, 2, 3))).toBe('2 days ago');
  });
});

describe('status from catalogue limits', () => {
  it('grades readings against warning and alarm limits', () => {
    const limits = { warnHigh: 45, alarmHigh: 55, warnLow: 0, alarmLow: -10 };
    expect(statusOf(30, limits)).toBe('ok');
    expect(statusOf(46, limits)).toBe('warning');
    expect(statusOf(60, limits)).toBe('alarm');
    expect(statusOf(-20, limits)).toBe('alarm');
    expect(statusOf(null, limits)).toBe('unknown');
  });
  it('takes the worst of a cabinet’s signals', () => {
    expect(
      worstStatus([
        { signal: 'bms1_soc', value: 50 },
        { signal: 'bms1_cell_max_t', value: 58 },
      ]),
    ).toBe('alarm');
    expect(
      worstStatus([
        { signal: 'bms1_soc', value: 50 },
        { signal: 'bms1_cell_v_diff', value: 0.06 },
      ]),
    ).toBe('warning');
    expect(powerState(120)).toBe('discharging');
    expect(powerState(-80)).toBe('charging');
    expect(powerState(1)).toBe('idle');
  });
});

describe('routes', () => {
  it('parses and builds hash routes', () => {
    expect(parseRoute('#/device/ZHP%2F1/history')).toEqual({ page: 'device', deviceId: 'ZHP/1', tab: 'history' });
    expect(parseRoute('#/device/X/bogus')).toEqual({ page: 'device', deviceId: 'X', tab: 'live' });
    expect(parseRoute('')).toEqual({ page: 'home' });
    expect(parseRoute('#/fleet')).toEqual({ page: 'fleet' });
    expect(parseRoute('#/alarms')).toEqual({ page: 'alarms' });
    expect(href({ page: 'alarms' })).toBe('#/alarms');
    const at = { page: 'device' as const, deviceId: 'X', tab: 'history' as const, range: { from: 1000, to: 5000 } };
    expect(parseRoute(href(at))).toEqual(at);
    expect(parseRoute('#/device/X/history/9-1')).toEqual({ page: 'device', deviceId: 'X', tab: 'history' });
    expect(href({ page: 'device', deviceId: 'A B', tab: 'cells' })).toBe('#/device/A%20B/cells');
  });
});

describe('the time zone in a link', () => {
  it('carries the display zone as an IANA name, reads it back, and refuses what is not a zone', () => {
    setDisplayZone('UTC', false);
    const at = { page: 'device' as const, deviceId: 'X', tab: 'history' as const, range: { from: 1000, to: 5000 } };
    expect(href(at)).toBe('#/device/X/history/1000-5000');
    setDisplayZone('Asia/Kolkata', false);
    expect(href(at)).toBe('#/device/X/history/1000-5000?tz=Asia%2FKolkata');
    expect(parseRoute(href(at))).toEqual(at);
    expect(zoneOf(href(at))).toBe('Asia/Kolkata');
    // A changed zone rewrites the link's, and UTC drops it.
    setDisplayZone('America/New_York', false);
    expect(withZone('#/fleet?tz=Asia%2FKolkata')).toBe('#/fleet?tz=America%2FNew_York');
    setDisplayZone('UTC', false);
    expect(withZone('#/fleet?tz=Asia%2FKolkata')).toBe('#/fleet');
    expect(withZone('')).toBe('#/');
    for (const bad of ['Mars/Olympus', '../etc', 'a'.repeat(80), '<script>'])
      expect(zoneOf(`#/fleet?tz=${encodeURIComponent(bad)}`)).toBeUndefined();
    // Times follow a named zone: 00:00 UTC is 05:30 in Kolkata.
    setDisplayZone('Asia/Kolkata', false);
    expect(formatDateTime(Date.UTC(2024, 2, 2))).toBe('2024-03-02 05:30 GMT+5:30');
    setDisplayZone('UTC', false);
    expect(formatDateTime(Date.UTC(2024, 2, 2))).toBe('2024-03-02 00:00 UTC');
  });
});

describe('anomaly labels on a chart', () => {
  it('labels events far enough apart and leaves close ones shaded only', () => {
    const markers = [
      { id: 'late', start: 900 },
      { id: 'a', start: 100 },
      { id: 'b', start: 105 },
      { id: 'c', start: 300 },
    ];
    expect([...labelledIds(markers, 1000)].sort()).toEqual(['a', 'c', 'late']);
    // a narrower gap share lets the close pair both be labelled
    expect(labelledIds(markers, 1000, 0.001).size).toBe(4);
  });
});

describe('the display zone', () => {
  it('shows times on the browser zone’s 24-hour clock when chosen, and reads inputs back to the same instant', () => {
    process.env.TZ = 'Asia/Kolkata'; // UTC+5:30, no daylight saving
    setDisplayZone('local');
    try {
      const t = Date.UTC(2024, 2, 1, 13, 5);
      expect(formatDateTime(t)).toBe('2024-03-01 18:35 GMT+5:30');
      expect(formatClock(t)).toBe('18:35:00');
      expect(toInputValue(t)).toBe('2024-03-01 18:35');
      expect(fromInputValue('2024-03-01 18:35')).toBe(t);
      // Ticks on whole local hours: 19:00, 20:00 ... in Kolkata are hh:30 in UTC.
      const { ticks, label } = timeTicks(t, t + 4 * 3_600_000);
      expect(ticks.map(label)).toEqual(['19:00', '20:00', '21:00', '22:00']);
      expect(new Date(ticks[0]!).toISOString()).toBe('2024-03-01T13:30:00.000Z');
    } finally {
      setDisplayZone('UTC');
    }
    expect(formatDateTime(Date.UTC(2024, 2, 1, 13, 5))).toBe('2024-03-01 13:05 UTC');
  });
});
