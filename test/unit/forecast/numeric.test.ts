import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { laggedProductSum, logistic, logit, median, medianInPlace, medianOfRangeInPlace, selectInPlace } from '../../../lib/core/forecast/numeric.ts';

const sortedMedian = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

describe('median by selection', () => {
  it.each([
    // odd: sorted [1, 2, 3] → 2
    [[3, 1, 2], 2],
    // even: sorted [1, 2, 3, 4] → (2 + 3) / 2 = 2.5
    [[4, 1, 3, 2], 2.5],
    // duplicates around the middle: sorted [5, 5, 5, 7] → (5 + 5) / 2 = 5
    [[5, 7, 5, 5], 5],
  ])('%j → %f', (values, expected) => {
    expect(medianInPlace(Float64Array.from(values))).toBe(expected);
  });

  it('is NaN for nothing, and median() skips non-finite values', () => {
    expect(medianInPlace(new Float64Array(0))).toBeNaN();
    // finite values [1, 9, 4] → 4
    expect(median([1, Number.NaN, 9, Number.POSITIVE_INFINITY, 4])).toBe(4);
  });

  it('equals the sorted median on long arrays, duplicates included (past the sort threshold)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -50, max: 50 }), { minLength: 65, maxLength: 600 }), (values) => {
        expect(medianInPlace(Float64Array.from(values))).toBe(sortedMedian(values));
      }),
    );
  });

  it('selects the k-th smallest and partitions around it', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }).map((v) => v + 0), { minLength: 1, maxLength: 300 }), fc.nat(), (values, seed) => {
        const k = seed % values.length;
        const array = Float64Array.from(values);
        const kth = selectInPlace(array, k);
        expect(kth).toBe([...values].sort((a, b) => a - b)[k]);
        for (let i = 0; i < k; i++) expect(array[i]).toBeLessThanOrEqual(kth);
        for (let i = k + 1; i < array.length; i++) expect(array[i]).toBeGreaterThanOrEqual(kth);
      }),
    );
  });

  it.each([
    // range [1, 4) of [9, 3, 1, 2, 9] is [3, 1, 2] → sorted [1, 2, 3] → 2
    [[9, 3, 1, 2, 9], 1, 4, 2],
    // range [2, 6) is [8, 6, 4, 2] → sorted [2, 4, 6, 8] → (4 + 6) / 2 = 5
    [[0, 0, 8, 6, 4, 2], 2, 6, 5],
    // empty range → NaN
    [[1, 2, 3], 1, 1, Number.NaN],
  ])('medianOfRangeInPlace(%j, %i, %i) → %f, leaving the rest alone', (values, start, end, expected) => {
    const array = Float64Array.from(values);
    expect(medianOfRangeInPlace(array, start, end)).toBe(expected);
    expect([...array.subarray(0, start), ...array.subarray(end)]).toEqual([...values.slice(0, start), ...values.slice(end)]);
  });

  it('orders −0 before +0 as a typed sort does, so short medians keep their sign', () => {
    // sorted [−0, −0, 0] → −0
    expect(Object.is(medianInPlace(Float64Array.from([0, -0, -0])), -0)).toBe(true);
    fc.assert(
      fc.property(fc.array(fc.constantFrom(-0, 0, -1, 1, 2.5), { minLength: 1, maxLength: 64 }), (values) => {
        const sorted = Float64Array.from(values).sort();
        const mid = sorted.length >> 1;
        const expected = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
        expect(Object.is(medianInPlace(Float64Array.from(values)), expected)).toBe(true);
      }),
    );
  });
});

describe('lagged product sums', () => {
  const values = Float64Array.from([1, 2, 3, 4, 5]);
  it.each([
    // t = 2..4, no lag: 3·3 + 4·4 + 5·5 = 50
    [2, 5, 0, 0, 50],
    // t = 2..4, lags 1 and 0: 2·3 + 3·4 + 4·5 = 38
    [2, 5, 1, 0, 38],
    // t = 3..4, lags 2 and 1: 2·3 + 3·4 = 18
    [3, 5, 2, 1, 18],
    // empty range → 0
    [4, 4, 1, 1, 0],
  ])('from %i to %i, lags %i and %i → %f', (from, to, lagA, lagB, expected) => {
    expect(laggedProductSum(values, from, to, lagA, lagB)).toBe(expected);
  });
});

describe('logit and logistic', () => {
  it.each([
    // ln(0.9 / 0.1) = ln 9 = 2.1972
    [0.9, Math.log(9)],
    // even odds: 0
    [0.5, 0],
    // ln(0.2 / 0.8) = −ln 4 = −1.3863
    [0.2, -Math.log(4)],
  ])('logit(%d) = %d, and logistic takes it back', (p, z) => {
    expect(logit(p)).toBeCloseTo(z, 12);
    expect(logistic(z)).toBeCloseTo(p, 12);
  });
});
