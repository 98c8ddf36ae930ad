/**
 * EKS managed node groups: DescribeNodegroup for status and scaling config,
 * the node group's Auto Scaling group(s) for ready vs booting instances, and
 * UpdateNodegroupConfig to resize. Also DescribeCluster for the k8s layer.
 */
import { DescribeClusterCommand, DescribeNodegroupCommand, UpdateNodegroupConfigCommand } from '@aws-sdk/client-eks';
import type { EKSClient, Nodegroup } from '@aws-sdk/client-eks';
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { PrescaleError } from '../errors.ts';
import type { CapacityActuator, DesiredNodesSet, NodeGroupState, NodeGroupStatus } from '../ports.ts';
import { computeScalingUpdate, countInstances, describeAutoScalingGroups, desiredNodesSet } from './autoscaling.ts';
import type { ScalingConfig, ScalingUpdate } from './autoscaling.ts';
import { callAws } from './errors.ts';

/**
 * EKS node group status in the port's terms. The *_FAILED states cannot take a
 * change either; they read as DEGRADED so an operator sees "unhealthy", not
 * "unknown".
 */
export function mapNodegroupStatus(status: string | undefined): NodeGroupStatus {
  switch (status) {
    case 'ACTIVE':
    case 'UPDATING':
    case 'CREATING':
    case 'DELETING':
    case 'DEGRADED':
      return status;
    case 'CREATE_FAILED':
    case 'DELETE_FAILED':
      return 'DEGRADED';
    default:
      return 'UNKNOWN';
  }
}

export interface ClusterConnection {
  readonly endpoint: string;
  /** Base64 PEM of the cluster CA, as EKS returns it. */
  readonly certificateAuthorityData: string;
  readonly status: string;
}

function liveScalingConfig(nodegroup: Nodegroup): ScalingConfig {
  const scaling = nodegroup.scalingConfig ?? {};
  return { minSize: scaling.minSize ?? 0, maxSize: scaling.maxSize ?? 0, desiredSize: scaling.desiredSize ?? 0 };
}

function autoScalingGroupNames(nodegroup: Nodegroup): string[] {
  return (nodegroup.resources?.autoScalingGroups ?? []).flatMap((g) => (g.name === undefined ? [] : [g.name]));
}

/** Names are EKS node group names (the config's `nodegroupName ?? name`). */
export class EksNodeGroups implements CapacityActuator {
  constructor(
    private readonly eks: EKSClient,
    private readonly autoScaling: AutoScalingClient,
  ) {}

  async describeNodegroup(cluster: string, nodegroupName: string): Promise<Nodegroup> {
    const output = await callAws(`EKS DescribeNodegroup ${cluster}/${nodegroupName}`, () =>
      this.eks.send(new DescribeNodegroupCommand({ clusterName: cluster, nodegroupName })),
    );
    if (output.nodegroup === undefined) throw new PrescaleError('not-found', `EKS node group ${cluster}/${nodegroupName} not found`);
    return output.nodegroup;
  }

  /** In the order asked; one DescribeAutoScalingGroups (per 50) for all the groups' instances. */
  async describeNodeGroups(cluster: string, names: readonly string[]): Promise<NodeGroupState[]> {
    const nodegroups = await Promise.all(names.map((name) => this.describeNodegroup(cluster, name)));
    const asgNames = nodegroups.map(autoScalingGroupNames);
    const groups = await describeAutoScalingGroups(this.autoScaling, asgNames.flat());
    return nodegroups.map((nodegroup, i) => {
      const live = liveScalingConfig(nodegroup);
      // A node group still CREATING has no ASG yet: nothing ready, nothing booting.
      const instances = asgNames[i]!.flatMap((asg) => groups.get(asg)?.Instances ?? []);
      return {
        name: names[i]!,
        status: mapNodegroupStatus(nodegroup.status),
        desiredNodes: live.desiredSize,
        minNodes: live.minSize,
        maxNodes: live.maxSize,
        ...countInstances(instances),
      };
    });
  }

  async setDesiredNodes(cluster: string, nodeGroup: string, desiredNodes: number): Promise<DesiredNodesSet> {
    return desiredNodesSet(await this.updateDesiredNodes(cluster, nodeGroup, desiredNodes));
  }

  /**
   * Desired is clamped to the node group's live [min, max]; min and max are
   * sent unchanged with it. Nothing is sent when the clamped desired is the
   * current one. A group not ACTIVE, or EKS answering ResourceInUseException
   * (an update already running), is `busy`: requeue, do not fail the run.
   * Returns the live config read first and what was written (undefined when no call was made).
   */
  async updateDesiredNodes(cluster: string, nodegroupName: string, desiredNodes: number): Promise<ScalingUpdate> {
    const nodegroup = await this.describeNodegroup(cluster, nodegroupName);
    if (nodegroup.status !== 'ACTIVE') {
      throw new PrescaleError('busy', `EKS node group ${cluster}/${nodegroupName} is ${nodegroup.status ?? 'in an unknown state'}, not ACTIVE`, { retryable: true });
    }
    const live = liveScalingConfig(nodegroup);
    const next = computeScalingUpdate(live, desiredNodes, live);
    if (next === undefined) return { live, written: undefined };
    await callAws(`EKS UpdateNodegroupConfig ${cluster}/${nodegroupName} desired ${live.desiredSize} → ${next.desiredSize}`, () =>
      this.eks.send(
        new UpdateNodegroupConfigCommand({
          clusterName: cluster,
          nodegroupName,
          scalingConfig: { minSize: next.minSize, maxSize: next.maxSize, desiredSize: next.desiredSize },
        }),
      ),
    );
    return { live, written: next };
  }

  /** Endpoint and CA for the Kubernetes client; see `describeCluster`. */
  async describeCluster(name: string): Promise<ClusterConnection> {
    return describeCluster(this.eks, name);
  }
}

/** Endpoint and CA for the Kubernetes client; a cluster without them yet (CREATING) is `busy`. */
export async function describeCluster(eks: EKSClient, name: string): Promise<ClusterConnection> {
  const output = await callAws(`EKS DescribeCluster ${name}`, () => eks.send(new DescribeClusterCommand({ name })));
  const cluster = output.cluster;
  if (cluster === undefined) throw new PrescaleError('not-found', `EKS cluster ${name} not found`);
  const status = cluster.status ?? 'UNKNOWN';
  const endpoint = cluster.endpoint;
  const certificateAuthorityData = cluster.certificateAuthority?.data;
  if (endpoint === undefined || endpoint === '' || certificateAuthorityData === undefined || certificateAuthorityData === '') {
    throw new PrescaleError('busy', `EKS cluster ${name} is ${status} and has no API endpoint yet`, { retryable: true });
  }
  return { endpoint, certificateAuthorityData, status };
}
