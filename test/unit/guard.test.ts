import { describe, expect, it } from 'vitest';
import type { Command, GuardedCommand, GuardVerdict } from '../../lib/core/commands.ts';
import { holdFloorsWithTheirNodes } from '../../lib/core/guard.ts';
import { webClusterConfig, webService } from '../support/web-cluster.ts';

const METRIC = { namespace: 'Test', name: 'Requests', dimensions: {}, stat: 'Average', periodSeconds: 60 };
/** One group, web (max 40), and its one service, api. */
const config = webClusterConfig(40, { services: [webService('api', METRIC)] });

const scale = (fromNodes: number, toNodes: number): Command => ({ kind: 'scale-node-group', cluster: 'test', nodeGroup: 'web', fromNodes, toNodes, reason: 'plan' });
const floor = (fromMinReplicas: number, toMinReplicas: number): Command => ({ kind: 'set-hpa-floor', cluster: 'test', namespace: 'default', service: 'api', fromMinReplicas, toMinReplicas, reason: 'ramp' });
const guarded = (command: Command, verdict: GuardVerdict, effective: Command | undefined = command): GuardedCommand => ({ command, verdict, effective, reason: verdict });

describe('holdFloorsWithTheirNodes', () => {
  it.each<[string, GuardedCommand[], GuardVerdict, boolean]>([
    // the scale-out runs in full: the floor's pods land on the nodes bought for them
    ['a scale-out let through', [guarded(scale(2, 9), 'allow'), guarded(floor(2, 16), 'allow')], 'allow', true],
    // 2 → 9 waits for a human: the floor raise waits in the same plan
    ['a scale-out awaiting approval', [guarded(scale(2, 9), 'needs-approval'), guarded(floor(2, 16), 'allow')], 'needs-approval', true],
    // the budget refused every node: 16 pods would have Cluster Autoscaler buy them anyway
    ['a scale-out the budget denied', [guarded(scale(2, 9), 'deny', undefined), guarded(floor(2, 16), 'allow')], 'deny', false],
    // the budget affords 2 → 5 of 9 (below the maximum 40): the raise does not run
    ['a scale-out the budget clamped', [guarded(scale(2, 9), 'clamp', scale(2, 5)), guarded(floor(2, 16), 'allow')], 'deny', false],
    // 2 → 50 clamped to the maximum 40 is the bounds: Cluster Autoscaler cannot pass 40 either
    ['a scale-out clamped at the group maximum', [guarded(scale(2, 50), 'clamp', scale(2, 40)), guarded(floor(2, 100), 'allow')], 'allow', true],
    // lowering a floor asks for nothing
    ['a floor lowered beside a denied scale-out', [guarded(scale(2, 9), 'deny', undefined), guarded(floor(16, 2), 'allow')], 'allow', true],
    // a scale-in held for approval says nothing about the floor's pods
    ['a scale-in awaiting approval', [guarded(scale(9, 2), 'needs-approval'), guarded(floor(2, 4), 'allow')], 'allow', true],
  ])('%s', (_why, commands, verdict, runs) => {
    const [, held] = holdFloorsWithTheirNodes(commands, config);
    expect(held!.verdict).toBe(verdict);
    expect(held!.effective !== undefined).toBe(runs);
    if (verdict !== 'allow') expect(held!.reason).toContain('held with the scale-out of web');
  });
});
