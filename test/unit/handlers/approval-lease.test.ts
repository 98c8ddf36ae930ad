import { describe, expect, it } from 'vitest';
import { PrescaleError } from '../../../lib/errors.ts';
import { acquireApprovalLease, approvedNotRun, APPROVAL_LEASE_WAIT_MS } from '../../../lib/handlers/slack-approval.ts';
import type { CommandOutcome } from '../../../lib/pipeline/run.ts';
import type { Lease } from '../../../lib/ports.ts';

const lease: Lease = { cluster: 'prod', owner: 'approval', fencingToken: 7, expiresAtMs: 0 };
const held = () => new PrescaleError('lease-held', 'prod is leased by scheduled-run');

/** An acquire that finds the lease held `times` times, then gets it; the waits are counted, not slept. */
function attempts(times: number) {
  let calls = 0;
  const waits: number[] = [];
  return {
    acquire: async () => {
      calls++;
      if (calls <= times) throw held();
      return lease;
    },
    wait: async (ms: number) => void waits.push(ms),
    waits,
  };
}

describe('acquireApprovalLease', () => {
  it.each<[string, number, number]>([
    ['free at once', 0, 0],
    // a run holds it for 3 s: three 1-second waits
    ['held by a run for a few seconds', 3, 3],
    // held for 20 tries: 20 × 1 s = 20 s, the most it waits, then it has it
    ['freed on the last try', 20, 20],
  ])('%s', async (_why, busyTries, waits) => {
    const a = attempts(busyTries);
    await expect(acquireApprovalLease(a.acquire, 'prod', a.wait)).resolves.toBe(lease);
    expect(a.waits).toHaveLength(waits);
  });

  it('gives up as busy (the queue redelivers) after waiting 20 s', async () => {
    const a = attempts(Number.POSITIVE_INFINITY);
    await expect(acquireApprovalLease(a.acquire, 'prod', a.wait)).rejects.toMatchObject({ code: 'busy', retryable: true, message: 'a run is in progress on prod' });
    expect(a.waits.reduce((sum, ms) => sum + ms, 0)).toBe(APPROVAL_LEASE_WAIT_MS);
  });

  it('stops waiting when the invocation has only the re-check and execution time left', async () => {
    // 50 s left at the start, each wait spends 1 s: it waits while left − 1 s ≥ the 45 s reserve, i.e. at
    // 50, 49, 48, 47 and 46 s left (5 waits), then gives up as busy with 45 s left
    const a = attempts(Number.POSITIVE_INFINITY);
    let left = 50_000;
    const wait = async (ms: number) => {
      left -= ms;
      a.waits.push(ms);
    };
    await expect(acquireApprovalLease(a.acquire, 'prod', wait, () => left)).rejects.toMatchObject({ code: 'busy' });
    expect(a.waits).toHaveLength(5);
  });

  it('passes any other error on at once', async () => {
    const wait = async () => {
      throw new Error('must not wait');
    };
    await expect(acquireApprovalLease(async () => Promise.reject(new PrescaleError('throttling', 'Rate exceeded', { retryable: true })), 'prod', wait)).rejects.toMatchObject({ code: 'throttling' });
  });
});

describe('approvedNotRun', () => {
  const scale = { kind: 'scale-node-group' as const, cluster: 'prod', nodeGroup: 'web', fromNodes: 2, toNodes: 8, reason: 'plan' };
  const floor = { kind: 'set-hpa-floor' as const, cluster: 'prod', namespace: 'shop', service: 'api', fromMinReplicas: 1, toMinReplicas: 15, reason: 'plan' };
  const outcome = (command: typeof scale | typeof floor, result: CommandOutcome['result'], sent = true, message?: string): CommandOutcome => ({
    guarded: { command, verdict: 'allow', effective: sent ? command : undefined, reason: 'approved' },
    result,
    message,
  });
  it.each<[string, CommandOutcome[], string | undefined]>([
    ['all applied', [outcome(scale, 'applied'), outcome(floor, 'applied')], undefined],
    // already at the count: done, not a miss
    ['one already done', [outcome(scale, 'skipped', true, 'already at the desired count'), outcome(floor, 'applied')], undefined],
    ['a failed floor', [outcome(scale, 'applied'), outcome(floor, 'failed', true, 'conflict')], 'prod/hpa/shop/api failed: conflict'],
    // withheld: its intent could not be saved, so it was never sent
    ['a withheld floor', [outcome(scale, 'applied'), outcome(floor, 'skipped', false, 'not sent')], 'prod/hpa/shop/api skipped: not sent'],
    // the live bounds held the group at its count: nothing ran, though the command was sent
    ['a count the live bounds kept', [outcome(scale, 'skipped', true, "the node group's live bounds [1, 2] keep it at 2 (asked 8)")], "prod/nodegroup/web skipped: the node group's live bounds [1, 2] keep it at 2 (asked 8)"],
  ])('%s', (_why, outcomes, expected) => {
    expect(approvedNotRun(outcomes)).toBe(expected);
  });
});
