/**
 * The CapacityActuator handlers wire: node groups are named as in the config,
 * and each is routed to EKS (managed) or Auto Scaling (self-managed) by its
 * `type`, under its AWS name.
 */
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { EKSClient } from '@aws-sdk/client-eks';
import type { NodeGroupConfig } from '../config/schema.ts';
import { PrescaleError } from '../errors.ts';
import type { CapacityActuator, DesiredNodesSet, NodeGroupState } from '../ports.ts';
import { AutoScalingGroups, desiredNodesSet } from './autoscaling.ts';
import { EksNodeGroups } from './eks.ts';

export type NodeGroupRoute =
  | { readonly kind: 'eks-managed'; readonly nodegroupName: string }
  | { readonly kind: 'asg'; readonly autoScalingGroupName: string; readonly minSize: number; readonly maxSize: number };

/** Where a configured node group lives in AWS. */
export function routeNodeGroup(config: Pick<NodeGroupConfig, 'name' | 'type' | 'nodegroupName' | 'autoScalingGroupName' | 'minNodes' | 'maxNodes'>): NodeGroupRoute {
  if (config.type === 'asg') {
    if (config.autoScalingGroupName === undefined) {
      throw new PrescaleError('config', `nodeGroups ${config.name}: type asg needs autoScalingGroupName`);
    }
    return { kind: 'asg', autoScalingGroupName: config.autoScalingGroupName, minSize: config.minNodes, maxSize: config.maxNodes };
  }
  return { kind: 'eks-managed', nodegroupName: config.nodegroupName ?? config.name };
}

export class AwsCapacity implements CapacityActuator {
  private readonly routes: ReadonlyMap<string, NodeGroupRoute>;

  constructor(
    nodeGroups: readonly NodeGroupConfig[],
    private readonly eks: EksNodeGroups,
    private readonly asg: AutoScalingGroups,
  ) {
    this.routes = new Map(nodeGroups.map((g) => [g.name, routeNodeGroup(g)]));
  }

  private route(name: string): NodeGroupRoute {
    const route = this.routes.get(name);
    if (route === undefined) throw new PrescaleError('not-found', `node group ${name} is not in the configuration`);
    return route;
  }

  /** States carry the config names, in the order asked. */
  async describeNodeGroups(cluster: string, names: readonly string[]): Promise<NodeGroupState[]> {
    const routed = names.map((name) => ({ name, route: this.route(name) }));
    const managed = routed.flatMap((r) => (r.route.kind === 'eks-managed' ? [{ name: r.name, aws: r.route.nodegroupName }] : []));
    const selfManaged = routed.flatMap((r) => (r.route.kind === 'asg' ? [{ name: r.name, aws: r.route.autoScalingGroupName }] : []));
    const [managedStates, selfManagedStates] = await Promise.all([
      managed.length === 0 ? [] : this.eks.describeNodeGroups(cluster, managed.map((m) => m.aws)),
      selfManaged.length === 0 ? [] : this.asg.describeGroups(selfManaged.map((s) => s.aws)),
    ]);
    const byName = new Map<string, NodeGroupState>();
    managed.forEach((m, i) => byName.set(m.name, { ...managedStates[i]!, name: m.name }));
    selfManaged.forEach((s, i) => byName.set(s.name, { ...selfManagedStates[i]!, name: s.name }));
    return names.map((name) => byName.get(name)!);
  }

  async setDesiredNodes(cluster: string, nodeGroup: string, desiredNodes: number): Promise<DesiredNodesSet> {
    const route = this.route(nodeGroup);
    const update =
      route.kind === 'eks-managed'
        ? await this.eks.updateDesiredNodes(cluster, route.nodegroupName, desiredNodes)
        : await this.asg.setDesiredNodes(route.autoScalingGroupName, desiredNodes, { minSize: route.minSize, maxSize: route.maxSize });
    return desiredNodesSet(update);
  }
}

export function createAwsCapacity(nodeGroups: readonly NodeGroupConfig[], clients: { readonly eks: EKSClient; readonly autoScaling: AutoScalingClient }): AwsCapacity {
  return new AwsCapacity(nodeGroups, new EksNodeGroups(clients.eks, clients.autoScaling), new AutoScalingGroups(clients.autoScaling));
}
