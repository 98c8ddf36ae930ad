/**
 * The Kubernetes applier for a deployed function: the cluster's endpoint and
 * CA come from EKS DescribeCluster and the bearer token is presigned with the
 * function's own credentials, both on first use and then kept for the life of
 * the execution environment (the token is re-signed every 10 minutes).
 */
import type { EKSClient } from '@aws-sdk/client-eks';
import { describeCluster } from '../aws/eks.ts';
import { createClusterConnection, createEksTokenProvider, KubeClient, KubeManifestApplier, type AwsCredentials, type PruneResult } from '../k8s/index.ts';
import type { ApplyResult, Clock, HpaState, ManifestApplier, ManifestObject } from '../ports.ts';

export interface PruningApplier extends ManifestApplier {
  prune(desired: readonly ManifestObject[], clusterName: string): Promise<PruneResult[]>;
}

export function createLazyKubeApplier(options: {
  readonly clusterName: string;
  readonly region: string;
  readonly eks: EKSClient;
  readonly credentials: () => Promise<AwsCredentials>;
  readonly clock: Clock;
}): PruningApplier {
  let applier: Promise<KubeManifestApplier> | undefined;
  const connect = (): Promise<KubeManifestApplier> => {
    applier ??= describeCluster(options.eks, options.clusterName)
      .then((access) => {
        const token = createEksTokenProvider({ clusterName: options.clusterName, region: options.region, credentials: options.credentials, nowMs: () => options.clock.nowMs() });
        return new KubeManifestApplier(new KubeClient({ connection: createClusterConnection(access), token }));
      })
      .catch((error: unknown) => {
        // A failed connect (cluster busy, access denied) is retried by the next call, not cached.
        applier = undefined;
        throw error;
      });
    return applier;
  };
  return {
    async apply(objects, applyOptions): Promise<ApplyResult[]> {
      return (await connect()).apply(objects, applyOptions);
    },
    async describeHpas(namespace, names): Promise<HpaState[]> {
      return (await connect()).describeHpas(namespace, names);
    },
    async setHpaMinReplicas(namespace, name, minReplicas): Promise<void> {
      return (await connect()).setHpaMinReplicas(namespace, name, minReplicas);
    },
    async prune(desired, clusterName): Promise<PruneResult[]> {
      return (await connect()).prune(desired, clusterName);
    },
  };
}
