import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeJson, encodeJson } from '../../../lib/state/codec.ts';

describe('state codec', () => {
  it.each<[string, unknown]>([
    ['undefined properties', { message: undefined, a: 1 }],
    ['NaN, ±Infinity and -0', [Number.NaN, Infinity, -Infinity, -0, 0]],
    ['undefined in an array', [1, undefined, 3]],
    ['an object that owns the tag key', { $prescale: 'undefined', value: 2 }],
    ['a __proto__ key stays data', JSON.parse('{"__proto__": {"polluted": true}}') as unknown],
    ['nested records', { commands: [{ kind: 'set-alb-weights', ruleArn: undefined, toWeights: [{ weight: 80 }] }] }],
  ])('round-trips %s exactly', (_label, value) => {
    expect(decodeJson(encodeJson(value))).toStrictEqual(value);
  });

  it('is deterministic and keeps key order', () => {
    expect(encodeJson({ b: 1, a: undefined })).toBe('{"b":1,"a":{"$prescale":"undefined"}}');
  });

  it.each<[string, unknown]>([
    ['a bigint', { n: 1n }],
    ['a Date', { at: new Date(0) }],
    ['a Map', new Map()],
    ['a function', { f: () => 1 }],
  ])('refuses %s with a validation error', (_label, value) => {
    expect(() => encodeJson(value)).toThrow(expect.objectContaining({ code: 'validation' }) as Error);
  });

  it('refuses a cycle but accepts a shared (acyclic) object', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(() => encodeJson(cyclic)).toThrow(/cycle/);
    const shared = { x: 1 };
    expect(decodeJson(encodeJson([shared, shared]))).toEqual([{ x: 1 }, { x: 1 }]);
  });

  it('property: decode(encode(v)) equals v for JSON-like values with undefined and special numbers', () => {
    const leaf = fc.oneof(fc.string(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.double(), fc.integer());
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node')), fc.dictionary(fc.string(), tie('node'), { noNullPrototype: true })),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        expect(decodeJson(encodeJson(v))).toStrictEqual(v);
      }),
      { seed: 42, numRuns: 300 },
    );
  });
});
