import { describe, expect, it } from 'vitest';
import type { PendingPlan } from '../../../lib/ports.ts';
import { budgetAlertMessage, escapeMrkdwn, outcomeMessage, pendingPlanMessage, slackDate } from '../../../lib/slack/messages.ts';

const NOW = Date.UTC(2024, 5, 10, 12, 0, 0);

const plan: PendingPlan = {
  id: 'plan-1',
  cluster: 'debate-prod',
  createdAtMs: NOW,
  expiresAtMs: NOW + 30 * 60_000,
  stateHash: 'sha256-0123456789abcdef',
  commands: [
    { kind: 'scale-node-group', cluster: 'debate-prod', nodeGroup: 'compute', fromNodes: 2, toNodes: 6, reason: 'llm queue <forecast> p95 & rising' },
    { kind: 'set-hpa-floor', cluster: 'debate-prod', namespace: 'debate', service: 'llm', fromMinReplicas: 2, toMinReplicas: 6, reason: 'pre-warm' },
  ],
  status: 'pending',
  decidedBy: undefined,
  decidedAtMs: undefined,
};

type Block = { type: string; block_id?: string; text?: { text: string }; elements?: Record<string, unknown>[] };

describe('pendingPlanMessage', () => {
  // compute +4 × $0.34 = +$1.36/h: $2.80 → $4.16
  const message = pendingPlanMessage(plan, { beforeUsdPerHour: 2.8, afterUsdPerHour: 4.16, deltaUsdPerHour: 1.36, projectedMonthEndUsd: 905.5, monthlyUsd: 1000 }, 'llm demand p90 rises 3× by 13:00 (model: ets, MASE 0.8)', { channel: 'C0001' });
  const blocks = message.blocks as Block[];
  const text = JSON.stringify(blocks);

  it('summarises the plan, the cost change and the forecast', () => {
    expect(message.channel).toBe('C0001');
    expect(message.text).toBe('Approval needed for debate-prod: 2 command(s), +$1.36/h (plan plan-1)');
    expect(text).toContain('node group *compute*: 2 → 6 nodes');
    expect(text).toContain('HPA floor *debate/llm*: 2 → 6 replicas');
    expect(text).toContain('*Cost change:* +$1.36/h ($2.80/h → $4.16/h)');
    // 905.5 / 1000 = 90.6 % (rounded to 0.1)
    expect(text).toContain('*Projected month-end if approved:* $905.50 of the $1,000.00 cap (90.6 %)');
    expect(text).toContain('*Forecast:* llm demand p90 rises 3× by 13:00');
    expect(text).toContain(`expires <!date^${(NOW + 1_800_000) / 1000}^`);
  });

  it('escapes text from reasons', () => {
    expect(text).toContain('llm queue &lt;forecast&gt; p95 &amp; rising');
    expect(text).not.toContain('<forecast>');
  });

  it('has Approve and Reject buttons carrying the plan id, each with a confirm dialog', () => {
    const actions = blocks.find((b) => b.type === 'actions');
    expect(actions?.block_id).toBe('prescale-approval');
    expect(actions?.elements?.map((e) => [e.action_id, e.value, e.style])).toEqual([
      ['approve', 'plan-1', 'primary'],
      ['reject', 'plan-1', 'danger'],
    ]);
    for (const button of actions?.elements ?? []) {
      expect(button.confirm).toMatchObject({ title: { type: 'plain_text' }, confirm: { type: 'plain_text' }, deny: { type: 'plain_text', text: 'Cancel' } });
    }
  });

  it('stays within Slack limits for a huge plan', () => {
    const huge: PendingPlan = { ...plan, commands: Array.from({ length: 200 }, (_, i) => ({ ...plan.commands[0]!, nodeGroup: `group-${i}`, reason: 'x'.repeat(500) })) };
    const hugeBlocks = pendingPlanMessage(huge, { beforeUsdPerHour: 0, afterUsdPerHour: 1, deltaUsdPerHour: 1 }, 'f').blocks as Block[];
    for (const block of hugeBlocks) if (block.type === 'section') expect(block.text?.text.length).toBeLessThanOrEqual(3000);
    expect(hugeBlocks.length).toBeLessThanOrEqual(50);
  });
});

describe('outcomeMessage', () => {
  it.each([
    ['executed', 'Approved and executed'],
    ['rejected', 'Rejected'],
    ['superseded', 'Not executed: the cluster or its limits changed'],
    ['expired', 'Expired: nothing was executed'],
    ['failed', 'Approved, but execution failed'],
    ['unknown-plan', 'Unknown plan: nothing was executed'],
  ] as const)('%s', (outcome, title) => {
    const message = outcomeMessage({ planId: 'plan-1', plan, outcome, byUserId: 'U012ABCDEF', atMs: NOW, detail: 'because <reasons>' });
    expect(message.text.startsWith(title)).toBe(true);
    expect(message.text.endsWith('(plan plan-1)')).toBe(true);
    const json = JSON.stringify(message.blocks);
    expect(json).toContain('<@U012ABCDEF>');
    expect(json).toContain('because &lt;reasons&gt;');
    expect(json).not.toContain('"actions"');
  });
});

describe('budgetAlertMessage', () => {
  it('reports spend against the cap', () => {
    // 812.34 / 1000 = 81.2 %
    const message = budgetAlertMessage({ cluster: 'debate-prod', percent: 80, monthKey: '2024-06', monthToDateUsd: 812.34, monthlyUsd: 1000, projectedMonthEndUsd: 1210, channel: 'C1' });
    expect(message.text).toBe('Budget alert for debate-prod: 80 % of the 2024-06 cap reached — $812.34 of $1,000.00 spent (81.2 %), projected month-end $1,210.00');
    expect(JSON.stringify(message.blocks)).not.toContain('override');
    const full = budgetAlertMessage({ cluster: 'c', percent: 100, monthKey: '2024-06', monthToDateUsd: 1000, monthlyUsd: 1000, projectedMonthEndUsd: 1300 });
    expect(JSON.stringify(full.blocks)).toContain('emergency override');
  });

  it('says how much of the spend is an estimate', () => {
    const message = budgetAlertMessage({ cluster: 'c', percent: 50, monthKey: '2024-06', monthToDateUsd: 520, estimatedUsd: 480, monthlyUsd: 1000, projectedMonthEndUsd: 990 });
    expect(message.text).toBe(
      'Budget alert for c: 50 % of the 2024-06 cap reached — $520.00 of $1,000.00 spent (52 %) ($480.00 of it estimated for time prescale did not observe, at the fleet it found), projected month-end $990.00',
    );
    expect(JSON.stringify(message.blocks)).toContain('$480.00 of it estimated');
    expect(budgetAlertMessage({ cluster: 'c', percent: 50, monthKey: '2024-06', monthToDateUsd: 520, estimatedUsd: 0, monthlyUsd: 1000, projectedMonthEndUsd: 990 }).text).not.toContain('estimated');
  });
});

describe('helpers', () => {
  it('escapes mrkdwn control characters', () => expect(escapeMrkdwn('a < b && c > d')).toBe('a &lt; b &amp;&amp; c &gt; d'));
  it('renders a date with a UTC fallback', () => expect(slackDate(NOW)).toBe('<!date^1718020800^{date_short_pretty} {time}|2024-06-10T12:00:00Z>'));
});
