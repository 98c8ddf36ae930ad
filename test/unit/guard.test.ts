import { describe, expect, it } from 'vitest';
import type { Command, GuardedCommand, GuardVerdict } from '../../lib/core/commands.ts';
import { holdFloorsWithTheirNodes } from '../../lib/core/guard.ts';
import { webClusterConfig, webService } from '../support/web-cluster.ts';

const METRIC = { namespace: 'Test', name: 'Requests', dimensions: {}, stat: 'Average', periodSeconds: 60 };
/** One group, web (max 40), and its one service, api. */
const config = webClusterConfig(40, { services: [webService('api', METRIC)] });

const scale = (fromNodes: number, toNodes: number): Command => ({ kind: 'scale-node-group', cluster: 'test', nodeGroup: 'web', fromNodes, toNodes, reason: 'plan' });
const floor = (fromMinReplicas: number, toMinReplicas: number): Command => ({ kind: 'set-hpa-floor', cluster: 'test', namespace: 'default', service: 'api', fromMinReplicas, toMinReplicas, reason: 'ramp' });
/** `effective` null: none (denied); left out: the command itself. */
const guarded = (command: Command, verdict: GuardVerdict, effective: Command | null = command): GuardedCommand => ({ command, verdict, effective: effective ?? undefined, reason: verdict });

describe('holdFloorsWithTheirNodes', () => {
  it.each<[string, GuardedCommand[], GuardVerdict, boolean]>([
    // the scale-out runs in full: the floor's pods land on the nodes bought for them
    ['a scale-out let through', [guarded(scale(2, 9), 'allow'), guarded(floor(2, 16), 'allow')], 'allow', true],
    // 2 → 9 waits for a human: the floor raise waits in the same plan
    ['a scale-out awaiting approval', [guarded(scale(2, 9), 'needs-approval'), guarded(floor(2, 16), 'allow')], 'needs-approval', true],
    // the budget refused every node: 16 pods would have Cluster Autoscaler buy them anyway
    ['a scale-out the budget denied', [guarded(scale(2, 9), 'deny', null), guarded(floor(2, 16), 'allow')], 'deny', false],
    // the budget affords 2 → 5 of 9 (below the maximum 40): the raise does not run
    ['a scale-out the budget clamped', [guarded(scale(2, 9), 'clamp', scale(2, 5)), guarded(floor(2, 16), 'allow')], 'deny', false],
    // 2 → 50 clamped to the maximum 40 is the bounds: Cluster Autoscaler cannot pass 40 either
    ['a scale-out clamped at the group maximum', [guarded(scale(2, 50), 'clamp', scale(2, 40)), guarded(floor(2, 100), 'allow')], 'allow', true],
    // lowering a floor asks for nothing
    ['a floor lowered beside a denied scale-out', [guarded(scale(2, 9), 'deny', null), guarded(floor(16, 2), 'allow')], 'allow', true],
    // a scale-in held for approval says nothing about the floor's pods
    ['a scale-in awaiting approval', [guarded(scale(9, 2), 'needs-approval'), guarded(floor(2, 4), 'allow')], 'allow', true],
    // the budget cut 2 → 9 to 2 → 5 and asks approval for the 5: approving the floor of 16 would buy the other 4
    ['a scale-out cut and awaiting approval', [guarded(scale(2, 9), 'needs-approval', scale(2, 5)), guarded(floor(2, 16), 'allow')], 'deny', false],
  ])('%s', (_why, commands, verdict, runs) => {
    const [, held] = holdFloorsWithTheirNodes(commands, config);
    expect(held!.verdict).toBe(verdict);
    expect(held!.effective !== undefined).toBe(runs);
    if (verdict !== 'allow') expect(held!.reason).toContain('held with the scale-out of web');
  });

  it('takes the strictest fate among the service\'s node groups', () => {
    // api runs on web and web2: web awaits approval, web2 was denied → the floor does not run
    const base = config.services[0]!;
    const twoGroups = { ...config, nodeGroups: [...config.nodeGroups, { ...config.nodeGroups[0]!, name: 'web2' }], services: [{ ...base, nodeGroups: ['web', 'web2'] }] };
    const web2 = { ...scale(2, 9), nodeGroup: 'web2' } as Command;
    const [, , held] = holdFloorsWithTheirNodes([guarded(scale(2, 9), 'needs-approval'), guarded(web2, 'deny', null), guarded(floor(2, 16), 'allow')], twoGroups);
    expect(held!.verdict).toBe('deny');
    expect(held!.reason).toContain('held with the scale-out of web2 (denied)');
  });
});
