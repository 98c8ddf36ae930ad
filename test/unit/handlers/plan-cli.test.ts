import { DescribeNodegroupCommand, EKSClient, UpdateNodegroupConfigCommand } from '@aws-sdk/client-eks';
import { describe, expect, it } from 'vitest';
import { addReadOnlyGuard, createReadOnlyCapacity, createReadOnlyManifests, DryRunViolation, formatPlan, isReadOnlyOperation } from '../../../lib/cli/plan.ts';
import type { RunResult } from '../../../lib/pipeline/run.ts';
import type { CapacityActuator, ManifestApplier } from '../../../lib/ports.ts';

describe('isReadOnlyOperation', () => {
  it.each([
    ['DescribeNodegroupCommand', true],
    ['GetMetricDataCommand', true],
    ['ListTagsForResourceCommand', true],
    ['DescribeTargetHealthCommand', true],
    ['UpdateNodegroupConfigCommand', false],
    ['SetDesiredCapacityCommand', false],
    ['ModifyRuleCommand', false],
    ['PutMetricDataCommand', false],
    ['Getaway', false], // a read verb must be a whole word
  ])('%s → %s', (name, expected) => {
    expect(isReadOnlyOperation(name)).toBe(expected);
  });
});

describe('the dry run cannot change the cloud', () => {
  it('the SDK guard refuses a mutating command before anything is sent, and lets a read through', async () => {
    const sent: string[] = [];
    const client = new EKSClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      maxAttempts: 1,
      requestHandler: {
        handle: async (request: { path: string }) => {
          sent.push(request.path);
          return { response: { statusCode: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ nodegroup: { nodegroupName: 'general' } })) } };
        },
      } as never,
    });
    addReadOnlyGuard(client);
    await expect(client.send(new UpdateNodegroupConfigCommand({ clusterName: 'c', nodegroupName: 'g', scalingConfig: { desiredSize: 5 } }))).rejects.toBeInstanceOf(DryRunViolation);
    expect(sent).toEqual([]);
    await client.send(new DescribeNodegroupCommand({ clusterName: 'c', nodegroupName: 'general' }));
    expect(sent).toEqual(['/clusters/c/node-groups/general']);
    client.destroy();
  });

  it('the actuator wrappers pass reads through and refuse writes', async () => {
    const calls: string[] = [];
    const capacity: CapacityActuator = {
      describeNodeGroups: async () => (calls.push('describe'), []),
      setDesiredNodes: async (_cluster, _group, desiredNodes) => (calls.push('set'), { desiredNodes, minNodes: 0, maxNodes: 100 }),
    };
    const manifests: ManifestApplier = {
      describeHpas: async () => (calls.push('hpas'), []),
      apply: async () => (calls.push('apply'), []),
      setHpaMinReplicas: async () => void calls.push('floor'),
    };
    const readOnlyCapacity = createReadOnlyCapacity(capacity);
    const readOnlyManifests = createReadOnlyManifests(manifests);
    await readOnlyCapacity.describeNodeGroups('c', ['g']);
    await readOnlyManifests.describeHpas('ns', ['a']);
    await expect(readOnlyCapacity.setDesiredNodes('c', 'g', 3)).rejects.toThrow('dry run: refused to call setDesiredNodes(c, g, 3)');
    await expect(readOnlyManifests.apply([], { fieldManager: 'prescale', force: false })).rejects.toBeInstanceOf(DryRunViolation);
    await expect(readOnlyManifests.setHpaMinReplicas('ns', 'a', 2)).rejects.toBeInstanceOf(DryRunViolation);
    expect(calls).toEqual(['describe', 'hpas']);
  });
});

describe('formatPlan', () => {
  it('prints each command, its verdict, the change and why, sorted by target', () => {
    const command = (nodeGroup: string, fromNodes: number, toNodes: number) => ({ kind: 'scale-node-group' as const, cluster: 'prod', nodeGroup, fromNodes, toNodes, reason: `forecast needs ${toNodes}` });
    const result: RunResult = {
      cluster: 'prod',
      atMs: Date.UTC(2026, 10, 2, 14, 0),
      trigger: 'scheduled',
      status: 'done',
      forecasts: new Map(),
      forecastModel: 'seasonal-naive',
      pendingPlan: undefined,
      demandUnknown: ['jobs'],
      demandInferredZero: ['gateway', 'search'],
      outcomes: [
        { guarded: { command: command('spot', 2, 30), verdict: 'clamp', effective: command('spot', 2, 15), reason: '30 is outside [0, 15]: clamped to 15' }, result: 'skipped', message: 'dry run' },
        { guarded: { command: command('general', 3, 5), verdict: 'allow', effective: command('general', 3, 5), reason: 'within bounds' }, result: 'skipped', message: 'dry run' },
      ],
    };
    expect(formatPlan(result, 'us-east-1')).toBe(
      [
        'prescale plan: cluster prod (us-east-1) at 2026-11-02T14:00:00.000Z — dry run, nothing was changed',
        '  forecast model: seasonal-naive',
        '  demand unknown, capacity held: jobs',
        '  demand read as 0 from gaps (missingData: zero): gateway, search',
        '  2 commands a run would issue:',
        '  prod/nodegroup/general  allow  nodes 3 → 5',
        '      why: forecast needs 5',
        '      guard: within bounds',
        '  prod/nodegroup/spot  clamp  nodes 2 → 15',
        '      why: forecast needs 15',
        '      guard: 30 is outside [0, 15]: clamped to 15',
        '',
      ].join('\n'),
    );
  });
});
