/**
 * What a handler returns and logs: small, JSON-safe (idempotency stores it),
 * sorted so two identical runs print identical output.
 */
import { commandTarget } from '../core/commands.ts';
import type { CostCeilingRehearsal, FinerReadFailure, RunResult } from '../pipeline/run.ts';
import { compareStrings } from '../core/canonical.ts';
import { errorMessage } from '../errors.ts';

export interface CommandSummary {
  readonly target: string;
  readonly verdict: string;
  readonly result: string;
  readonly reason: string;
  readonly message: string | null;
}

export interface RunSummary {
  readonly cluster: string;
  readonly status: RunResult['status'];
  readonly atMs: number;
  readonly forecastModel: string | null;
  readonly commands: readonly CommandSummary[];
  /** Services whose demand now was unknown, so their capacity was held (a metric that stopped, or was never seen). */
  readonly demandUnknown: readonly string[];
  /** Services whose demand now was a gap read as zero (missingData: zero). */
  readonly demandInferredZero: readonly string[];
  /** The cost ceiling's rehearsal, on the first run (not an alarm's) with no ceiling in memory; null otherwise. */
  readonly costCeilingRehearsal: CostCeilingRehearsal | null;
  /** Refits whose finer days could not be read (their quantiles cover coarse means until the next refit), by service. */
  readonly finerReadsFailed: readonly FinerReadFailure[];
  /** Why the budget alert due was not posted (the next run posts it again); null when it was, or none was due. */
  readonly budgetAlertNotPosted: string | null;
  /** Why the plan awaiting approval was not posted to Slack (the next run posts it again); null when it was, or none. */
  readonly approvalNotPosted: string | null;
}

export function summarizeRun(result: RunResult): RunSummary {
  const commands = result.outcomes
    .map((o) => ({
      target: commandTarget(o.guarded.effective ?? o.guarded.command),
      verdict: o.guarded.verdict,
      result: o.result,
      reason: (o.guarded.effective ?? o.guarded.command).reason,
      message: o.message ?? null,
    }))
    .sort((a, b) => compareStrings(a.target, b.target));
  return {
    cluster: result.cluster,
    status: result.status,
    atMs: result.atMs,
    forecastModel: result.forecastModel ?? null,
    commands,
    demandUnknown: [...result.demandUnknown],
    demandInferredZero: [...result.demandInferredZero],
    costCeilingRehearsal: result.costCeilingRehearsal ?? null,
    finerReadsFailed: [...(result.finerReadsFailed ?? [])],
    budgetAlertNotPosted: result.budgetAlertNotPosted ?? null,
    approvalNotPosted: result.approvalNotPosted ?? null,
  };
}

export interface ClusterFailure {
  readonly cluster: string;
  readonly error: string;
}

/** Runs `work` for every cluster even when some fail; failures are collected, not thrown. */
export async function forEachCluster<T>(clusters: readonly string[], work: (cluster: string) => Promise<T>): Promise<{ done: T[]; failed: ClusterFailure[] }> {
  const settled = await Promise.allSettled(clusters.map((cluster) => work(cluster)));
  const done: T[] = [];
  const failed: ClusterFailure[] = [];
  settled.forEach((outcome, i) => {
    if (outcome.status === 'fulfilled') done.push(outcome.value);
    else failed.push({ cluster: clusters[i]!, error: errorMessage(outcome.reason) });
  });
  return { done, failed };
}
