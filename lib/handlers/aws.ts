/**
 * AWS mode: the SDK adapters of lib/aws and lib/state, built once per cold
 * start. Clients are made per region on first use (a deployment may manage
 * clusters in several regions).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createLazyKubeApplier } from './kube.ts';
import { createAwsClients, type AwsClients } from '../aws/clients.ts';
import { createAwsAdapters } from '../aws/index.ts';
import type { PrescaleConfig } from '../config/schema.ts';
import { PrescaleError } from '../errors.ts';
import type { Clock } from '../ports.ts';
import { findConfig } from './configs.ts';
import type { ClusterPorts, Dependencies } from './deps.ts';
import { createHandlerForecaster } from './deps-forecaster.ts';
import type { HandlerEnv } from './env.ts';
import type { ClusterQueue } from './fanout.ts';
import { createSqsApprovalQueue, missingApprovalQueue } from './approval-queue.ts';
import { createSsmSlackSecrets, slackNotifierFor } from './slack-secrets.ts';
import { createSqsQueue } from './sqs-queue.ts';
import { createStateStore } from './state.ts';

export const systemClock: Clock = { nowMs: () => Date.now() };

/** Fails only when a message is sent: the functions other than `scheduled` have no queue. */
function missingQueue(): ClusterQueue {
  return {
    send: async () => {
      throw new PrescaleError('config', 'PRESCALE_QUEUE_URL is not set: only the scheduled function sends to the fan-out queue');
    },
  };
}

export async function createAwsBackend(env: HandlerEnv, configs: readonly PrescaleConfig[]): Promise<Dependencies> {
  const dynamo = new DynamoDBClient({ region: env.AWS_REGION, ...(env.PRESCALE_DYNAMODB_ENDPOINT === undefined ? {} : { endpoint: env.PRESCALE_DYNAMODB_ENDPOINT }) });
  const state = createStateStore(dynamo, env.PRESCALE_TABLE);
  const sqs = env.PRESCALE_QUEUE_URL === undefined ? undefined : new SQSClient({ region: env.AWS_REGION });
  const queue = sqs === undefined || env.PRESCALE_QUEUE_URL === undefined ? missingQueue() : createSqsQueue(sqs, env.PRESCALE_QUEUE_URL);
  const approvals = sqs === undefined || env.PRESCALE_QUEUE_URL === undefined ? missingApprovalQueue() : createSqsApprovalQueue(sqs, env.PRESCALE_QUEUE_URL);
  // Parameter names from serverless.yml; each function's role may read only the ones it is given.
  const slack = createSsmSlackSecrets({ signingSecretParam: env.PRESCALE_SLACK_SIGNING_SECRET_PARAM, botTokenParam: env.PRESCALE_SLACK_BOT_TOKEN_PARAM });
  const forecaster = createHandlerForecaster();
  const clientsByRegion = new Map<string, AwsClients>();
  const portsByCluster = new Map<string, ClusterPorts>();
  const config = (cluster: string, field?: string) => findConfig(configs, cluster, field);
  const clientsFor = (region: string): AwsClients => {
    let clients = clientsByRegion.get(region);
    if (clients === undefined) {
      clients = createAwsClients({ region });
      clientsByRegion.set(region, clients);
    }
    return clients;
  };
  return {
    env,
    configs,
    state,
    queue,
    approvals,
    slack,
    dynamo,
    local: undefined,
    config,
    portsFor(cluster) {
      let ports = portsByCluster.get(cluster);
      if (ports === undefined) {
        const clusterConfig = config(cluster);
        const clients = clientsFor(clusterConfig.cluster.region);
        ports = {
          clock: systemClock,
          ...createAwsAdapters(clients, clusterConfig.nodeGroups, systemClock),
          manifests: createLazyKubeApplier({
            clusterName: clusterConfig.cluster.name,
            region: clusterConfig.cluster.region,
            eks: clients.eks,
            credentials: () => clients.eks.config.credentials(),
            clock: systemClock,
          }),
          state,
          forecaster,
          // Pending plans and budget alerts go to the cluster's slack.channel when a bot token parameter is configured.
          notifier: slackNotifierFor(clusterConfig, slack),
        };
        portsByCluster.set(cluster, ports);
      }
      return ports;
    },
    async close() {
      dynamo.destroy();
      sqs?.destroy();
      for (const clients of clientsByRegion.values()) for (const client of Object.values(clients)) (client as { destroy(): void }).destroy();
    },
  };
}
