/**
 * `prescale plan --config FILE`: what a scheduled run would do right now
 * against the real account in the environment, and why — without changing
 * anything. Three locks keep it read-only:
 *  1. the pipeline runs with `dryRun: true` (plan and guard only);
 *  2. the actuators are wrapped so any mutating method throws;
 *  3. every SDK client refuses, before signing, any operation that is not a
 *     Describe*, Get* or List* call.
 * State (lease, forecast cache, audit) goes to an in-memory store, so the
 * dry run writes nothing to DynamoDB either; it therefore starts without the
 * deployed planner's memory (scale-in stabilisation history).
 */
import { parseArgs } from 'node:util';
import { createAwsClients } from '../aws/clients.ts';
import { createAwsAdapters } from '../aws/index.ts';
import { loadConfigFile } from '../config/load.ts';
import { commandTarget, type Command } from '../core/commands.ts';
import { ValidationError } from '../errors.ts';
import { createHandlerForecaster } from '../handlers/deps-forecaster.ts';
import { runPipeline, type RunResult } from '../pipeline/run.ts';
import type { CapacityActuator, Clock, ManifestApplier } from '../ports.ts';
import { createMemoryStateStore } from '../state/memory.ts';
import { compareStrings } from '../core/canonical.ts';

export const PLAN_HELP = `prescale plan --config FILE [--json]

A dry run against the AWS account in the environment (credentials and region
from the usual AWS variables or profile): observes, forecasts, plans and
guards exactly as a scheduled run would, then prints every command the run
would issue, its guard verdict and why. Only Describe*, Get* and List* calls
are made; nothing is changed and nothing is written to DynamoDB.

  --config FILE   the cluster configuration
  --json          print the result as JSON instead of a table
`;

/** Thrown when anything tries to change the cloud during a dry run. Not a PrescaleError: nothing may catch it as a routine failure. */
export class DryRunViolation extends Error {
  constructor(what: string) {
    super(`dry run: refused to call ${what}, which changes the cloud`);
    this.name = 'DryRunViolation';
  }
}

/** AWS operations a dry run may call. */
export function isReadOnlyOperation(commandName: string): boolean {
  return /^(Describe|Get|List)[A-Z]/.test(commandName.replace(/Command$/, ''));
}

interface MiddlewareClient {
  readonly middlewareStack: {
    add(
      middleware: (next: (args: unknown) => Promise<unknown>, context: { commandName?: string; clientName?: string }) => (args: unknown) => Promise<unknown>,
      options: { step: 'initialize'; name: string; priority: 'high' },
    ): void;
  };
}

/** Refuses every non-read operation on an SDK client before it is serialised, signed or sent. */
export function addReadOnlyGuard(client: unknown): void {
  (client as MiddlewareClient).middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? 'an unnamed command';
      if (!isReadOnlyOperation(name)) throw new DryRunViolation(`${context.clientName ?? 'AWS'} ${name}`);
      return next(args);
    },
    { step: 'initialize', name: 'prescaleReadOnlyGuard', priority: 'high' },
  );
}

export function createReadOnlyCapacity(inner: CapacityActuator): CapacityActuator {
  return {
    describeNodeGroups: (cluster, names) => inner.describeNodeGroups(cluster, names),
    setDesiredNodes: async (cluster, nodeGroup, desiredNodes) => {
      throw new DryRunViolation(`setDesiredNodes(${cluster}, ${nodeGroup}, ${desiredNodes})`);
    },
  };
}

export function createReadOnlyManifests(inner: ManifestApplier): ManifestApplier {
  return {
    describeHpas: (namespace, names) => inner.describeHpas(namespace, names),
    apply: async (objects) => {
      throw new DryRunViolation(`apply(${objects.length} objects)`);
    },
    setHpaMinReplicas: async (namespace, name, minReplicas) => {
      throw new DryRunViolation(`setHpaMinReplicas(${namespace}/${name}, ${minReplicas})`);
    },
  };
}

function change(command: Command): string {
  switch (command.kind) {
    case 'scale-node-group':
      return `nodes ${command.fromNodes} → ${command.toNodes}`;
    case 'set-hpa-floor':
      return `minReplicas ${command.fromMinReplicas} → ${command.toMinReplicas}`;
    case 'set-alb-weights':
      return `weights ${command.fromWeights.map((w) => w.weight).join('/')} → ${command.toWeights.map((w) => w.weight).join('/')}`;
    case 'apply-manifest':
      return `apply ${command.objectKind}`;
  }
}

export interface PlanLine {
  readonly target: string;
  readonly verdict: string;
  readonly change: string;
  readonly reason: string;
  readonly guard: string;
}

/** The commands of a dry run, sorted by target. */
export function planLines(result: RunResult): PlanLine[] {
  return result.outcomes
    .map((o) => {
      const command = o.guarded.effective ?? o.guarded.command;
      return { target: commandTarget(command), verdict: o.guarded.verdict, change: change(command), reason: command.reason, guard: o.guarded.reason };
    })
    .sort((a, b) => compareStrings(a.target, b.target));
}

export function formatPlan(result: RunResult, region: string): string {
  const lines = planLines(result);
  const header = `prescale plan: cluster ${result.cluster} (${region}) at ${new Date(result.atMs).toISOString()} — dry run, nothing was changed`;
  if (result.status === 'lease-held') return `${header}\n  (another run holds the cluster lease)\n`;
  const model =
    (result.forecastModel === undefined ? '' : `\n  forecast model: ${result.forecastModel}`) +
    (result.demandUnknown.length === 0 ? '' : `\n  demand unknown, capacity held: ${result.demandUnknown.join(', ')}`) +
    (result.demandInferredZero.length === 0 ? '' : `\n  demand read as 0 from gaps (missingData: zero): ${result.demandInferredZero.join(', ')}`);
  if (lines.length === 0) return `${header}${model}\n  no command: capacity matches the plan\n`;
  const body = lines.map((l) => `  ${l.target}  ${l.verdict}  ${l.change}\n      why: ${l.reason}\n      guard: ${l.guard}`).join('\n');
  return `${header}${model}\n  ${lines.length} command${lines.length === 1 ? '' : 's'} a run would issue:\n${body}\n`;
}

export async function planCommand(argv: readonly string[], out: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  const { values } = parseArgs({ args: [...argv], strict: true, options: { config: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } } });
  if (values.help) {
    out(PLAN_HELP);
    return 0;
  }
  if (values.config === undefined) throw new ValidationError('options', ['--config is required']);
  const config = loadConfigFile(values.config);
  const clients = createAwsClients({ region: config.cluster.region });
  for (const client of Object.values(clients)) addReadOnlyGuard(client);
  const clock: Clock = { nowMs: () => Date.now() };
  try {
    // Capacity stays read-only: wrapped below, on top of the clients' read-only guard.
    const aws = createAwsAdapters(clients, config.nodeGroups, clock);
    const result = await runPipeline(
      config,
      {
        clock,
        metrics: aws.metrics,
        capacity: createReadOnlyCapacity(aws.capacity),
        // The Kubernetes applier is not wired into the CLI yet: HPA state is not read.
        manifests: undefined,
        state: createMemoryStateStore(),
        forecaster: createHandlerForecaster(),
      },
      { trigger: 'scheduled', actor: 'cli:plan', runId: `plan-${process.pid}`, dryRun: true },
    );
    const json = {
      cluster: result.cluster,
      atMs: result.atMs,
      status: result.status,
      forecastModel: result.forecastModel ?? null,
      commands: planLines(result),
      demandUnknown: result.demandUnknown,
      demandInferredZero: result.demandInferredZero,
    };
    // HPAs are not read here, so a missingData: zero gap the deployed worker would read as 0 (beside the HPA's pods) shows as unknown.
    const hpaNote = config.services.some((s) => s.demand.metric.missingData === 'zero') ? '  (HPAs are not read by `prescale plan`: a missingData: zero gap shows as unknown here)\n' : '';
    out(values.json ? `${JSON.stringify(json, null, 2)}\n` : `${formatPlan(result, config.cluster.region)}${hpaNote}`);
    return 0;
  } finally {
    for (const client of Object.values(clients)) client.destroy();
  }
}
