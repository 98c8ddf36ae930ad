/**
 * JSON that round-trips what the store's records actually contain. Plain
 * JSON.stringify drops `undefined` properties (the ports are full of
 * `x: T | undefined`), turns NaN (a missing datapoint in a forecast history)
 * into null and -0 into 0. Those values are written as small tagged objects
 * instead, so what DynamoDB returns is what the in-memory store would return.
 * Pure and deterministic: object keys keep their insertion order.
 */
import { PrescaleError } from '../errors.ts';

/** The tag key. A user object that happens to own this key is wrapped, so nothing is ambiguous. */
const TAG = '$prescale';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function specialNumberTag(value: number): string | undefined {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  if (Object.is(value, -0)) return '-0';
  return undefined;
}

function toJson(value: unknown, path: string, ancestors: Set<object>): Json {
  if (value === undefined) return { [TAG]: 'undefined' };
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    const tag = specialNumberTag(value);
    return tag === undefined ? value : { [TAG]: tag };
  }
  if (typeof value !== 'object') {
    throw new PrescaleError('validation', `cannot store ${typeof value} at ${path}: only JSON-like values are stored`);
  }
  if (ancestors.has(value)) throw new PrescaleError('validation', `cannot store a cycle at ${path}`);
  ancestors.add(value);
  try {
    if (Array.isArray(value)) return value.map((item: unknown, i) => toJson(item, `${path}[${i}]`, ancestors));
    if (!isPlainObject(value)) {
      throw new PrescaleError('validation', `cannot store a ${value.constructor?.name ?? 'non-plain object'} at ${path}: only plain objects are stored`);
    }
    const entries: [string, Json][] = Object.keys(value).map((key) => [key, toJson(value[key], `${path}.${key}`, ancestors)]);
    const encoded = Object.fromEntries(entries) as { [key: string]: Json };
    return Object.hasOwn(value, TAG) ? { [TAG]: 'object', value: encoded } : encoded;
  } finally {
    ancestors.delete(value);
  }
}

const SPECIAL_VALUES: Readonly<Record<string, unknown>> = {
  undefined: undefined,
  NaN: Number.NaN,
  Infinity: Infinity,
  '-Infinity': -Infinity,
  '-0': -0,
};

function decodeEntries(object: Record<string, unknown>): Record<string, unknown> {
  // fromEntries defines own properties, so a key like "__proto__" stays data, never a prototype.
  return Object.fromEntries(Object.keys(object).map((key) => [key, fromJson(object[key])]));
}

function fromJson(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(fromJson);
  const object = value as Record<string, unknown>;
  if (!Object.hasOwn(object, TAG)) return decodeEntries(object);
  const tag = object[TAG];
  if (tag === 'object') return decodeEntries(object['value'] as Record<string, unknown>);
  if (typeof tag === 'string' && Object.hasOwn(SPECIAL_VALUES, tag)) return SPECIAL_VALUES[tag];
  throw new PrescaleError('internal', `stored JSON carries an unknown tag ${JSON.stringify(tag)}`);
}

export function encodeJson(value: unknown): string {
  return JSON.stringify(toJson(value, '$', new Set()));
}

export function decodeJson(text: string): unknown {
  return fromJson(JSON.parse(text));
}
