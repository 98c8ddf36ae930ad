/**
 * Everything a handler needs, built once per cold start (module scope) and
 * reused by warm invocations: the cluster configurations, the ports per
 * cluster, the state store, the fan-out queue and the idempotency store.
 * `PRESCALE_BACKEND` picks AWS or the simulated cloud; the handlers cannot
 * tell them apart.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { PrescaleConfig } from '../config/schema.ts';
import { PrescaleError } from '../errors.ts';
import type { PipelinePorts } from '../pipeline/run.ts';
import type { Notifier, StateStore, TrafficActuator } from '../ports.ts';
import type { SimCloud } from '../sim/cloud.ts';
import { LocalApprovalQueue, type ApprovalQueue } from './approval-queue.ts';
import { createAwsBackend } from './aws.ts';
import { findConfig, loadConfigs, resolveConfigPath } from './configs.ts';
import { createHandlerForecaster } from './deps-forecaster.ts';
import { parseHandlerEnv, type HandlerEnv } from './env.ts';
import type { ClusterQueue } from './fanout.ts';
import { createLocalCloud, LOCAL_EPOCH_MS, LocalQueue, LocalTraffic, startEmbeddedDynamo } from './local.ts';
import { createEnvSlackSecrets, slackNotifierFor, type SlackSecrets } from './slack-secrets.ts';
import { createStateStore, ensureLocalTable } from './state.ts';

export interface ClusterPorts extends PipelinePorts {
  readonly traffic: TrafficActuator;
  readonly notifier: Notifier | undefined;
}

export interface LocalBackend {
  readonly clouds: Map<string, SimCloud>;
  readonly traffic: Map<string, LocalTraffic>;
  readonly queue: LocalQueue;
  /** Slack follow-ups the webhook handed to the worker (process them with the worker and an SQS-shaped event). */
  readonly approvals: LocalApprovalQueue;
  readonly dynamoEndpoint: string;
}

export interface Dependencies {
  readonly env: HandlerEnv;
  readonly configs: readonly PrescaleConfig[];
  readonly state: StateStore;
  readonly queue: ClusterQueue;
  /** Where the Slack webhook hands its follow-ups (the worker's queue). */
  readonly approvals: ApprovalQueue;
  /** The Slack signing secret and bot token: env locally, SSM deployed. Never logged. */
  readonly slack: SlackSecrets;
  /** The DynamoDB client idempotency records go through (same table as the state). */
  readonly dynamo: DynamoDBClient;
  /**
   * The ports of one cluster. `eventTimeMs` moves the simulated clock forward
   * to the event's time in local mode; AWS runs on the system clock.
   */
  portsFor(cluster: string, eventTimeMs?: number): ClusterPorts;
  config(cluster: string, field?: string): PrescaleConfig;
  /** Set in local mode only: the simulated cloud, for `invoke local` output and tests. */
  readonly local: LocalBackend | undefined;
  close(): Promise<void>;
}

async function createLocalDependencies(env: HandlerEnv, configs: readonly PrescaleConfig[], rawEnv: Readonly<Record<string, string | undefined>>): Promise<Dependencies> {
  const embedded = env.PRESCALE_DYNAMODB_ENDPOINT === undefined ? await startEmbeddedDynamo() : undefined;
  const endpoint = env.PRESCALE_DYNAMODB_ENDPOINT ?? embedded!.endpoint;
  // dynalite accepts any credentials; fixed fake ones keep the SDK from looking for real ones.
  const dynamo = new DynamoDBClient({ endpoint, region: env.AWS_REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  await ensureLocalTable(dynamo, env.PRESCALE_TABLE);
  const state = createStateStore(dynamo, env.PRESCALE_TABLE);
  const forecaster = createHandlerForecaster();
  const local: LocalBackend = { clouds: new Map(), traffic: new Map(), queue: new LocalQueue(), approvals: new LocalApprovalQueue(), dynamoEndpoint: endpoint };
  // SLACK_SIGNING_SECRET / SLACK_BOT_TOKEN; without a token, the simulated cloud's recording notifier.
  const slack = createEnvSlackSecrets(rawEnv);
  const config = (cluster: string, field?: string) => findConfig(configs, cluster, field);
  return {
    env,
    configs,
    state,
    queue: local.queue,
    approvals: local.approvals,
    slack,
    dynamo,
    local,
    config,
    portsFor(cluster, eventTimeMs) {
      const clusterConfig = config(cluster);
      let cloud = local.clouds.get(cluster);
      if (cloud === undefined) {
        cloud = createLocalCloud(clusterConfig, eventTimeMs ?? LOCAL_EPOCH_MS);
        local.clouds.set(cluster, cloud);
        local.traffic.set(cluster, new LocalTraffic(clusterConfig));
      }
      // Simulated time only moves forward: node boot and cooldowns depend on it.
      if (eventTimeMs !== undefined && eventTimeMs > cloud.clock.nowMs()) cloud.clock.set(eventTimeMs);
      return {
        clock: cloud.clock,
        metrics: cloud.metrics,
        capacity: cloud.capacity,
        manifests: cloud.manifests,
        state,
        forecaster,
        traffic: local.traffic.get(cluster)!,
        notifier: slackNotifierFor(clusterConfig, slack) ?? cloud.notifier,
      };
    },
    async close() {
      dynamo.destroy();
      await embedded?.close();
    },
  };
}

export async function createDependencies(rawEnv: Readonly<Record<string, string | undefined>>): Promise<Dependencies> {
  const env = parseHandlerEnv(rawEnv);
  const configs = loadConfigs(resolveConfigPath(env.PRESCALE_CONFIG, rawEnv));
  if (env.PRESCALE_BACKEND === 'local') return createLocalDependencies(env, configs, rawEnv);
  return createAwsBackend(env, configs);
}

let cached: Promise<Dependencies> | undefined;

/**
 * The per-cold-start dependencies. A failed construction is not cached, so a
 * transient failure (dynalite port, a config typo fixed by redeploy) does not
 * poison the container.
 */
export function getDependencies(): Promise<Dependencies> {
  if (cached === undefined) {
    cached = createDependencies(process.env).catch((error: unknown) => {
      cached = undefined;
      throw error;
    });
  }
  return cached;
}

/** Tests and `invoke local`: drop the cached dependencies (closing the embedded store). */
export async function resetDependencies(): Promise<void> {
  const current = cached;
  cached = undefined;
  if (current !== undefined) await (await current.catch(() => undefined))?.close();
}

export function requireLocal(deps: Dependencies): LocalBackend {
  if (deps.local === undefined) throw new PrescaleError('internal', 'not in local mode');
  return deps.local;
}
