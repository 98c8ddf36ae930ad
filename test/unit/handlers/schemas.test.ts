import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../lib/errors.ts';
import { alarmEventSchema, clusterMessageSchema, emergencyPayloadSchema, schedulerEventSchema } from '../../../lib/handlers/schemas.ts';
import { parseOrThrow } from '../../../lib/handlers/validation.ts';

const sample = (name: string): Record<string, unknown> => JSON.parse(readFileSync(new URL(`../../../events/${name}.json`, import.meta.url), 'utf8'));

function problems(schema: Parameters<typeof parseOrThrow>[0], value: unknown): readonly string[] {
  try {
    parseOrThrow(schema, value, 'event');
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).details;
  }
  return [];
}

describe('sample events parse', () => {
  it.each([
    ['scheduled', schedulerEventSchema],
    ['reweight', schedulerEventSchema],
    ['manifests', schedulerEventSchema],
    ['alarm', alarmEventSchema],
    ['emergency', emergencyPayloadSchema],
  ] as const)('events/%s.json', (name, schema) => {
    expect(problems(schema, sample(name))).toEqual([]);
  });

  it('the worker sample carries a valid cluster message', () => {
    const records = sample('worker').Records as { body: string }[];
    expect(problems(clusterMessageSchema, JSON.parse(records[0]!.body))).toEqual([]);
  });
});

describe('malformed emergency payloads name the field', () => {
  const base = sample('emergency');
  it.each([
    ['missing requestId', { ...base, requestId: undefined }, 'requestId is required'],
    ['short reason', { ...base, reason: 'because' }, 'reason must explain why in at least 10 characters'],
    ['set and change', { ...base, target: { set: 5, change: 1 } }, 'target must set exactly one of set (absolute) and change (relative)'],
    ['neither set nor change', { ...base, target: {} }, 'target must set exactly one of set (absolute) and change (relative)'],
    ['negative absolute', { ...base, target: { set: -1 } }, 'target.set must be ≥ 0'],
    ['fractional change', { ...base, target: { change: 1.5 } }, 'target.change must be an integer'],
    ['zero change', { ...base, target: { change: 0 } }, 'target.change must not be 0'],
    ['string target', { ...base, target: { set: 'five' } }, 'target.set must be a number (got string "five")'],
    ['node group and service', { ...base, service: 'gateway' }, 'nodeGroup or service: set exactly one of them'],
    ['neither node group nor service', { ...base, nodeGroup: undefined }, 'nodeGroup or service: set exactly one of them'],
    ['override without reason', { ...base, budgetOverride: {} }, 'budgetOverride.reason is required'],
    ['unknown key', { ...base, force: true }, 'force is not a known key'],
    ['bad node group name', { ...base, nodeGroup: 'General_1' }, 'nodeGroup must be a DNS-1123 label (lowercase letters, digits and -)'],
  ])('%s', (_name, payload, expected) => {
    expect(problems(emergencyPayloadSchema, payload)).toContain(expected);
  });
});

describe('malformed scheduler and alarm events name the field', () => {
  it.each([
    ['not a schedule ARN', { ...sample('scheduled'), resources: ['arn:aws:events:us-east-1:123456789012:rule/x'] }, 'resources[0] must be an EventBridge Scheduler schedule ARN'],
    ['bad time', { ...sample('scheduled'), time: 'yesterday' }, 'time must be an ISO 8601 date-time such as 2026-11-02T14:00:00Z'],
    ['unknown detail key', { ...sample('scheduled'), detail: { cluster: 'x' } }, 'detail.cluster is not a known key'],
    ['wrong source', { ...sample('scheduled'), source: 'aws.events' }, 'source must be "aws.scheduler" (got string "aws.events")'],
  ])('scheduler: %s', (_name, event, expected) => {
    expect(problems(schedulerEventSchema, event)).toContain(expected);
  });

  it('alarm: a state value outside the enum', () => {
    const event = sample('alarm');
    const detail = event.detail as Record<string, Record<string, unknown>>;
    const broken = { ...event, detail: { ...detail, state: { ...detail.state, value: 'FIRING' } } };
    expect(problems(alarmEventSchema, broken)).toContain('detail.state.value must be one of "OK", "ALARM", "INSUFFICIENT_DATA" (got string "FIRING")');
  });
});
