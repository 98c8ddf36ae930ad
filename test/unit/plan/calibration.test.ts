/**
 * Pending predictions: one per period, each scored once when its period's
 * demand is known, however many runs that takes.
 */
import { describe, expect, it } from 'vitest';
import {
  MAX_PENDING_PREDICTIONS,
  initialCalibration,
  levelToRead,
  rememberedCalibration,
  resolvePending,
  withPending,
  type Calibration,
} from '../../../lib/core/plan/calibration.ts';

const at = (level: number, ...pending: [number, number][]): Calibration => ({ level, pending: pending.map(([startMs, value]) => ({ startMs, value })) });

describe('resolvePending', () => {
  it.each<[string, Calibration, Record<number, number>, number, Calibration]>([
    // a hit: α = 0.1 + 0.01 × 0.1 = 0.101 → 0.899
    ['one observed hit', at(0.9, [5, 100]), { 5: 90 }, 0, at(0.899)],
    // a miss: α = 0.1 + 0.01 × (0.1 − 1) = 0.091 → 0.909
    ['one observed miss', at(0.9, [5, 100]), { 5: 110 }, 0, at(0.909)],
    ['not observed yet: keeps waiting', at(0.9, [5, 100]), {}, 0, at(0.9, [5, 100])],
    // 5 miss → 0.909; 6 hit → α = 0.091 + 0.001 = 0.092 → 0.908; 7 waits
    ['scores the observed ones oldest first, keeps the rest', at(0.9, [5, 100], [6, 100], [7, 100]), { 5: 120, 6: 80 }, 0, at(0.908, [7, 100])],
    ['drops one that can no longer be observed', at(0.9, [5, 100], [9, 100]), {}, 8, at(0.9, [9, 100])],
    ['nothing pending', at(0.9), { 5: 1 }, 0, at(0.9)],
  ])('%s', (_case, calibration, observed, oldestObservableMs, expected) => {
    const result = resolvePending(calibration, 0.9, (startMs) => observed[startMs], oldestObservableMs);
    expect(result.level).toBeCloseTo(expected.level, 12);
    expect(result.pending).toEqual(expected.pending);
  });
});

describe('withPending', () => {
  it.each<[string, Calibration, number | undefined, number | undefined, Calibration]>([
    ['adds one', at(0.9), 5, 100, at(0.9, [5, 100])],
    ['a later run replaces its period', at(0.9, [5, 100]), 5, 120, at(0.9, [5, 120])],
    ['keeps an older unresolved one beside a new period', at(0.9, [5, 100]), 6, 120, at(0.9, [5, 100], [6, 120])],
    ['nothing to record', at(0.9, [5, 100]), undefined, undefined, at(0.9, [5, 100])],
  ])('%s', (_case, calibration, startMs, value, expected) => {
    expect(withPending(calibration, startMs, value)).toEqual(expected);
  });

  it(`keeps the newest ${MAX_PENDING_PREDICTIONS}`, () => {
    let calibration = initialCalibration(0.9);
    for (let i = 0; i < MAX_PENDING_PREDICTIONS + 3; i++) calibration = withPending(calibration, i, i);
    // 11 recorded, the 3 oldest (0, 1, 2) dropped
    expect(calibration.pending.map((p) => p.startMs)).toEqual(Array.from({ length: MAX_PENDING_PREDICTIONS }, (_, i) => i + 3));
  });
});

describe('rememberedCalibration', () => {
  /** As read back for today's target 0.9. */
  const read = (level: number, ...pending: [number, number][]): Calibration => ({ ...at(level, ...pending), target: 0.9 });
  it.each<[string, unknown, Calibration]>([
    ['nothing remembered', undefined, read(0.9)],
    ['today’s shape', { level: 0.93, target: 0.9, pending: [{ startMs: 7, value: 1 }, { startMs: 5, value: 2 }] }, read(0.93, [5, 2], [7, 1])],
    ['no target remembered (an older release): calibrated toward today’s', { level: 0.93, pending: [] }, read(0.93)],
    ['an older release’s single prediction', { level: 0.93, pendingStartMs: 5, pendingValue: 2 }, read(0.93, [5, 2])],
    ['an older release with nothing pending', { level: 0.93, pendingStartMs: null, pendingValue: null }, read(0.93)],
    ['a level that is not a number restarts at the target', { level: 'high', pending: [] }, read(0.9)],
    ['a level out of (0, 1) restarts at the target', { level: 1.5, pending: [] }, read(0.9)],
    // 0.3 is a valid probability but below the calibration floor 0.5
    ['a level below the floor is brought within bounds', { level: 0.3, pending: [] }, read(0.5)],
    ['two predictions for one period keep the last', { level: 0.9, pending: [{ startMs: 5, value: 1 }, { startMs: 5, value: 2 }] }, read(0.9, [5, 2])],
    ['malformed predictions are dropped', { level: 0.9, pending: [{ startMs: 'x', value: 1 }, null, { startMs: 5, value: 2 }] }, read(0.9, [5, 2])],
    ['not an object', 'garbage', read(0.9)],
    ['a target that is not a probability is ignored', { level: 0.93, target: 7, pending: [] }, read(0.93)],
  ])('%s', (_case, remembered, expected) => {
    expect(rememberedCalibration(remembered, 0.9)).toEqual(expected);
  });

  it.each([
    // [remembered level, calibrated for, today's target] → level + (target − was), read within [0.5, 0.995]
    [0.88, 0.9, 0.99, 0.97, 0.97], // 0.88 + 0.09: the learned −0.02 bias kept, the new target served at once
    [0.93, 0.9, 0.8, 0.83, 0.83], // 0.93 − 0.1
    [0.98, 0.9, 0.97, 1.05, 0.995], // 0.98 + 0.07 = 1.05, kept; read at the ceiling 0.995
    [0.6, 0.9, 0.7, 0.4, 0.5], // 0.6 − 0.2 = 0.4, kept; read at the floor 0.5
  ])('level %f calibrated for %f, target now %f → %f, read at %f', (level, was, target, expected, readAt) => {
    const read = rememberedCalibration({ level, target: was, pending: [] }, target);
    expect(read.level).toBeCloseTo(expected, 12);
    expect(levelToRead(read)).toBeCloseTo(readAt, 12);
    expect(read.target).toBe(target);
  });

  it('an older release (no target) calibrated toward the policy\'s level', () => {
    // Learned 0.93 toward the policy's 0.9; this service's own target is 0.97: 0.93 + 0.07 = 1.0, read at 0.995.
    expect(rememberedCalibration({ level: 0.93, pending: [] }, 0.97, 0.9).level).toBeCloseTo(1.0, 12);
  });

  it('gets its bias back when a target is raised past a bound and lowered again', () => {
    // Learned 0.97 toward 0.9 (the forecast's quantiles run 0.07 narrow). Raised to 0.99 for an event: 1.06, read at 0.995.
    const json = (c: Calibration): unknown => JSON.parse(JSON.stringify(c));
    let calibration = rememberedCalibration({ level: 0.97, target: 0.9, pending: [] }, 0.99);
    expect(calibration.level).toBeCloseTo(1.06, 12);
    // Misses at the ceiling do not wind it up further: 1.06 + 0.01 × 0.99 would be 1.0699.
    calibration = resolvePending({ ...calibration, pending: [{ startMs: 5, value: 100 }] }, 0.99, () => 200);
    expect(calibration.level).toBeCloseTo(1.06, 12);
    // A hit at the ceiling brings it back by γ × (1 − 0.99) = 0.0001: 1.0599.
    calibration = resolvePending({ ...calibration, pending: [{ startMs: 6, value: 100 }] }, 0.99, () => 50);
    expect(calibration.level).toBeCloseTo(1.0599, 12);
    // Back to 0.9 after the event: 1.0599 − 0.09 = 0.9699, the learned bias, not 0.905 (0.995 − 0.09).
    expect(rememberedCalibration(json(calibration), 0.9).level).toBeCloseTo(0.9699, 12);
  });

  it.each([
    // |level − target| ≥ 0.5 is not a calibration: restart at the target
    [1.45, 0.9],
    [-0.2, 0.5],
  ])('a level of %f calibrated for %f restarts at the target', (level, was) => {
    expect(rememberedCalibration({ level, target: was, pending: [] }, 0.9).level).toBe(0.9);
  });
});
