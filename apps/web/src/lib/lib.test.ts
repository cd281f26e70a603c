import { describe, expect, it } from 'vitest';
import { ago, formatClock, formatDateTime, formatValue, fromInputValue, timeTick, toInputValue } from './format';
import { advance, freshCursor, resumeInput } from './resume';
import { parseRoute, href } from './route';
import { powerState, statusOf, worstStatus } from './status';
import { SlidingWindow } from './window';
import { labelledIds } from './markers';

describe('SlidingWindow', () => {
  it('keeps only the newest points and never grows past its capacity', () => {
    const w = new SlidingWindow<number>(3);
    w.push(1, 2);
    expect(w.push(3, 4, 5)).toEqual([3, 4, 5]);
    for (let i = 0; i < 10_000; i++) w.push(i);
    expect(w.points).toHaveLength(3);
    expect(w.points).toEqual([9997, 9998, 9999]);
  });
  it('returns a new array on every push, so React re-renders', () => {
    const w = new SlidingWindow<number>(2);
    const a = w.push(1);
    expect(w.push(2)).not.toBe(a);
    expect(() => new SlidingWindow(0)).toThrow();
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
    expect(timeTick(3_600_000)(Date.UTC(2024, 2, 1, 13, 5))).toBe('13:05');
    expect(timeTick(3 * 86_400_000)(Date.UTC(2024, 2, 1, 13, 5))).toBe('03-01 13h');
    expect(timeTick(30 * 86_400_000)(Date.UTC(2024, 2, 1, 13, 5))).toBe('03-01');
  });
  it('formats values with their unit and a dash for missing readings', () => {
    expect(formatValue(51.66, '%')).toBe('51.7 %');
    expect(formatValue(3.2871, 'V')).toBe('3.287 V');
    expect(formatValue(832.4, 'V')).toBe('832 V');
    expect(formatValue(null, '°C')).toBe('—');
  });
  it('round-trips datetime-local inputs as UTC', () => {
    const t = Date.UTC(2024, 2, 1, 10, 30);
    expect(fromInputValue(toInputValue(t))).toBe(t);
    expect(fromInputValue('garbage')).toBeUndefined();
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
