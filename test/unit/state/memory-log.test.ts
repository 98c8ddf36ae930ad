import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TimeOrderedLog, createMemoryStateStore } from '../../../lib/state/memory.ts';

interface Entry {
  readonly atMs: number;
  readonly n: number;
}

describe('TimeOrderedLog (the memory store ring buffer)', () => {
  it('keeps the newest `capacity` entries by time', () => {
    const log = new TimeOrderedLog<Entry>(3);
    for (let n = 0; n < 10; n += 1) log.append({ atMs: n * 10, n });
    expect(log.size).toBe(3);
    expect(log.list(0, 100).map((e) => e.n)).toEqual([7, 8, 9]);
  });

  it('inserts a late entry in time order, after entries of the same ms, and drops it at once if it is the oldest of a full log', () => {
    const log = new TimeOrderedLog<Entry>(3);
    log.append({ atMs: 10, n: 0 });
    log.append({ atMs: 30, n: 1 });
    log.append({ atMs: 10, n: 2 });
    expect(log.list(0, 10).map((e) => e.n)).toEqual([0, 2, 1]);
    log.append({ atMs: 5, n: 3 });
    expect(log.list(0, 10).map((e) => e.n)).toEqual([0, 2, 1]);
  });

  it('property: equals a stable sort of the appended entries, trimmed to the newest `capacity`, for any since/limit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 60 }),
        fc.integer({ min: 0, max: 22 }),
        fc.integer({ min: 0, max: 10 }),
        (capacity, times, sinceMs, limit) => {
          const log = new TimeOrderedLog<Entry>(capacity);
          const entries = times.map((atMs, n) => ({ atMs, n }));
          // The reference: after each append, stable-sort by time and keep the newest `capacity`.
          let reference: Entry[] = [];
          for (const entry of entries) {
            log.append(entry);
            reference = [...reference, entry].sort((a, b) => a.atMs - b.atMs).slice(-capacity);
          }
          expect(log.list(sinceMs, limit)).toEqual(reference.filter((e) => e.atMs >= sinceMs).slice(0, limit));
        },
      ),
      { seed: 7, numRuns: 500 },
    );
  });
});

describe('createMemoryStateStore', () => {
  it('bounds each cluster log to logCapacity', async () => {
    const store = createMemoryStateStore({ logCapacity: 2 });
    for (let atMs = 0; atMs < 5; atMs += 1) {
      await store.appendDecision({ cluster: 'prod', atMs, trigger: `t${atMs}`, fencingToken: 1, forecastModel: undefined, commands: [] });
    }
    expect((await store.listDecisions('prod', 0, 10)).map((d) => d.trigger)).toEqual(['t3', 't4']);
  });

  it('refuses a capacity below 1', () => {
    expect(() => createMemoryStateStore({ logCapacity: 0 })).toThrow(RangeError);
  });
});
