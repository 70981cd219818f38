import { describe, expect, it } from 'vitest';
import { checkTarget, overallStatus } from './target.js';

const atLeastHalf = { label: '≥ 0.5×', against: 'plain-sync', atLeast: 0.5 };
const atMost200 = { label: '≤ 200 B', atMost: 200 };

describe('checkTarget', () => {
  it('is met at and above a floor, short below it', () => {
    expect(checkTarget(atLeastHalf, 0.5).met).toBe(true);
    expect(checkTarget(atLeastHalf, 0.93).met).toBe(true);
    expect(checkTarget(atLeastHalf, 0.49).met).toBe(false);
  });

  it('is met at and below a ceiling, short above it', () => {
    expect(checkTarget(atMost200, 200).met).toBe(true);
    expect(checkTarget(atMost200, 201).met).toBe(false);
  });

  it('needs both bounds when both are given', () => {
    const band = { label: 'band', atLeast: 1, atMost: 2 };
    expect(checkTarget(band, 1.5).met).toBe(true);
    expect(checkTarget(band, 0.5).met).toBe(false);
    expect(checkTarget(band, 2.5).met).toBe(false);
  });

  it('cannot be judged without a figure', () => {
    expect(checkTarget(atLeastHalf, null)).toMatchObject({ value: null, met: null });
    expect(checkTarget(atLeastHalf, Number.NaN).met).toBeNull();
  });

  it('keeps the target’s fields beside the figure', () => {
    expect(checkTarget(atLeastHalf, 0.7)).toEqual({ ...atLeastHalf, value: 0.7, met: true });
  });
});

describe('overallStatus', () => {
  const met = checkTarget(atLeastHalf, 0.9);
  const short = checkTarget(atLeastHalf, 0.1);
  const unknown = checkTarget(atLeastHalf, null);

  it('is null for a row without targets', () => {
    expect(overallStatus([])).toBeNull();
  });

  it('is short when any target is short, even beside an unknown one', () => {
    expect(overallStatus([met, short])).toBe('short');
    expect(overallStatus([unknown, short])).toBe('short');
  });

  it('is n/a when nothing is short but something could not be checked', () => {
    expect(overallStatus([met, unknown])).toBe('n/a');
  });

  it('is met only when every target is met', () => {
    expect(overallStatus([met, met])).toBe('met');
  });
});
