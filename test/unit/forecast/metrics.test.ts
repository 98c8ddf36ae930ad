import { describe, expect, it } from 'vitest';
import { computeCoverage, computeMase, computeMsis, computeOwa, computeSmape, seasonalNaiveScale } from '../../../lib/core/forecast/metrics.ts';

describe('forecast metrics (M4 definitions)', () => {
  // In-sample [1..6] with season 2: |3−1| = |4−2| = |5−3| = |6−4| = 2, so the scale is 2.
  const insample = [1, 2, 3, 4, 5, 6];

  it('seasonal naive scale', () => {
    expect(seasonalNaiveScale(insample, 2)).toBe(2);
  });

  it('MASE', () => {
    // errors |7−6| = 1, |8−10| = 2 → mean 1.5; 1.5 / 2 = 0.75
    expect(computeMase(insample, [7, 8], [6, 10], 2)).toBeCloseTo(0.75, 12);
  });

  it('sMAPE', () => {
    // step 1: 200·|100−110| / (100+110) = 2000/210 = 9.5238…; step 2: exact → 0; mean 4.7619…
    expect(computeSmape([100, 50], [110, 50])).toBeCloseTo(2000 / 210 / 2, 10);
    // both zero counts as a perfect step, not NaN
    expect(computeSmape([0], [0])).toBe(0);
  });

  it('MSIS at alpha 0.05 (penalty 2/α = 40)', () => {
    // step 1: [6, 8] holds 7 → width 2
    // step 2: [8.5, 9] misses 8 below by 0.5 → 0.5 + 40·0.5 = 20.5
    // step 3: [5, 7] misses 9 above by 2 → 2 + 40·2 = 82
    // mean (2 + 20.5 + 82) / 3 = 34.8333…; over scale 2 → 17.41666…
    expect(computeMsis(insample, [7, 8, 9], [6, 8.5, 5], [8, 9, 7], 2, 0.05)).toBeCloseTo(104.5 / 3 / 2, 10);
  });

  it('coverage counts the bounds as inside', () => {
    // 7 in [6, 8]; 8 below 8.5; 9 above 7; and 5 on the bound of [5, 5] → 2 of 4
    expect(computeCoverage([7, 8, 9, 5], [6, 8.5, 5, 5], [8, 9, 7, 5])).toBe(0.5);
  });

  it('OWA of the published seasonal naive against Naive2 is 0.627', () => {
    // 0.5 · (1.193/2.395 + 13.912/18.383) = 0.5 · (0.49812 + 0.75679) = 0.62745
    expect(computeOwa(1.193, 13.912, 2.395, 18.383)).toBeCloseTo(0.62745, 4);
  });
});
