/**
 * Auto Scaling: the instances behind every node group (EKS managed groups run
 * on an ASG too, which is where ready vs booting comes from), and the actuator
 * for self-managed groups.
 */
import { DescribeAutoScalingGroupsCommand, SetDesiredCapacityCommand, UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import type { AutoScalingClient, AutoScalingGroup, Instance } from '@aws-sdk/client-auto-scaling';
import { clamp } from '../core/forecast/numeric.ts';
import { PrescaleError } from '../errors.ts';
import type { DesiredNodesSet, NodeGroupState, NodeGroupStatus } from '../ports.ts';
import { chunk } from './chunk.ts';
import { callAws } from './errors.ts';

/** DescribeAutoScalingGroups takes at most 50 names per call unless MaxRecords is raised. */
export const MAX_NAMES_PER_DESCRIBE_AUTO_SCALING_GROUPS = 50;

export interface ScalingBounds {
  readonly minSize: number;
  readonly maxSize: number;
}

export interface ScalingConfig extends ScalingBounds {
  readonly desiredSize: number;
}

/** A desired-count change: the live config read before it, and what was written (undefined when nothing needed writing). */
export interface ScalingUpdate {
  readonly live: ScalingConfig;
  readonly written: ScalingConfig | undefined;
}

/** The group's desired count and bounds once `update` is done: what was written, or the live config when nothing was. */
export function desiredNodesSet(update: ScalingUpdate): DesiredNodesSet {
  const now = update.written ?? update.live;
  return { desiredNodes: now.desiredSize, minNodes: now.minSize, maxNodes: now.maxSize };
}

/**
 * The scaling config to write, or undefined when nothing would change (then no
 * call is made). Desired is clamped to `allowed`; live min/max widen just
 * enough to hold it, never narrow. For EKS `allowed` is the live bounds (a
 * pure clamp); for self-managed ASGs it is the configured bounds, so a group
 * whose live max sits below the config can still grow to the config's max.
 *
 * live {1,10,5}, request 7, allowed {1,10}  → {1,10,7}
 * live {1,10,5}, request 12, allowed {1,10} → {1,10,10} (clamped: 12 > 10)
 * live {2,5,5},  request 8, allowed {0,10}  → {2,8,8}  (max widened 5 → 8)
 */
export function computeScalingUpdate(live: ScalingConfig, requestedDesired: number, allowed: ScalingBounds): ScalingConfig | undefined {
  if (!Number.isInteger(requestedDesired) || requestedDesired < 0) {
    throw new PrescaleError('validation', `desired nodes must be a non-negative integer (got ${requestedDesired})`);
  }
  const desiredSize = clamp(requestedDesired, allowed.minSize, allowed.maxSize);
  const next = { minSize: Math.min(live.minSize, desiredSize), maxSize: Math.max(live.maxSize, desiredSize), desiredSize };
  const unchanged = next.minSize === live.minSize && next.maxSize === live.maxSize && next.desiredSize === live.desiredSize;
  return unchanged ? undefined : next;
}

export interface InstanceCounts {
  /** InService and not marked Unhealthy: serving now. */
  readonly readyNodes: number;
  /** Pending, Pending:Wait, Pending:Proceed: launched, still booting. */
  readonly bootingNodes: number;
}

/**
 * Ready = InService (an InService instance marked Unhealthy is about to be
 * replaced, so it does not count); booting = Pending*. Terminating, Standby,
 * Detaching and warm-pool instances serve nothing and count as neither.
 */
export function countInstances(instances: readonly Pick<Instance, 'LifecycleState' | 'HealthStatus'>[]): InstanceCounts {
  let readyNodes = 0;
  let bootingNodes = 0;
  for (const instance of instances) {
    const state = instance.LifecycleState ?? '';
    if (state === 'InService' && instance.HealthStatus !== 'Unhealthy') readyNodes += 1;
    else if (state === 'Pending' || state.startsWith('Pending:')) bootingNodes += 1;
  }
  return { readyNodes, bootingNodes };
}

/** An ASG has no lifecycle status of its own except while being deleted. */
export function autoScalingGroupStatus(group: Pick<AutoScalingGroup, 'Status'>): NodeGroupStatus {
  return group.Status === undefined || group.Status === '' ? 'ACTIVE' : /delete/i.test(group.Status) ? 'DELETING' : 'UNKNOWN';
}


/** Describes the named groups (in calls of 50, following NextToken); groups AWS does not know are absent from the map. */
export async function describeAutoScalingGroups(client: AutoScalingClient, names: readonly string[]): Promise<Map<string, AutoScalingGroup>> {
  const groups = new Map<string, AutoScalingGroup>();
  const unique = [...new Set(names)].sort();
  for (const batch of chunk(unique, MAX_NAMES_PER_DESCRIBE_AUTO_SCALING_GROUPS)) {
    let nextToken: string | undefined;
    do {
      const output = await callAws(`AutoScaling DescribeAutoScalingGroups ${batch.join(',')}`, () =>
        client.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: batch, ...(nextToken === undefined ? {} : { NextToken: nextToken }) })),
      );
      for (const group of output.AutoScalingGroups ?? []) {
        if (group.AutoScalingGroupName !== undefined) groups.set(group.AutoScalingGroupName, group);
      }
      nextToken = output.NextToken;
    } while (nextToken !== undefined && nextToken !== '');
  }
  return groups;
}

function liveScalingConfig(group: AutoScalingGroup): ScalingConfig {
  return { minSize: group.MinSize ?? 0, maxSize: group.MaxSize ?? 0, desiredSize: group.DesiredCapacity ?? 0 };
}

/** Self-managed node groups: one Auto Scaling group each. */
export class AutoScalingGroups {
  constructor(private readonly client: AutoScalingClient) {}

  /** States named after the groups, in the order asked; an unknown group is `not-found`. */
  async describeGroups(names: readonly string[]): Promise<NodeGroupState[]> {
    const groups = await describeAutoScalingGroups(this.client, names);
    return names.map((name) => {
      const group = groups.get(name);
      if (group === undefined) throw new PrescaleError('not-found', `Auto Scaling group ${name} not found`);
      const live = liveScalingConfig(group);
      return { name, status: autoScalingGroupStatus(group), desiredNodes: live.desiredSize, minNodes: live.minSize, maxNodes: live.maxSize, ...countInstances(group.Instances ?? []) };
    });
  }

  /**
   * SetDesiredCapacity when the live min/max already hold the target (HonorCooldown
   * false: prescale plans its own cooldowns and must not be silently ignored);
   * UpdateAutoScalingGroup when min or max must widen. No call when nothing changes.
   * Returns the live config read first and what was written (undefined when no call was made).
   */
  async setDesiredNodes(groupName: string, desiredNodes: number, allowed?: ScalingBounds): Promise<ScalingUpdate> {
    const [state] = await this.describeGroups([groupName]);
    if (state!.status !== 'ACTIVE') {
      throw new PrescaleError('busy', `Auto Scaling group ${groupName} is ${state!.status}`, { retryable: true });
    }
    const live = { minSize: state!.minNodes, maxSize: state!.maxNodes, desiredSize: state!.desiredNodes };
    const next = computeScalingUpdate(live, desiredNodes, allowed ?? live);
    if (next === undefined) return { live, written: undefined };
    if (next.minSize === live.minSize && next.maxSize === live.maxSize) {
      await callAws(`AutoScaling SetDesiredCapacity ${groupName} → ${next.desiredSize}`, () =>
        this.client.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: groupName, DesiredCapacity: next.desiredSize, HonorCooldown: false })),
      );
    } else {
      await callAws(`AutoScaling UpdateAutoScalingGroup ${groupName} → min ${next.minSize} max ${next.maxSize} desired ${next.desiredSize}`, () =>
        this.client.send(
          new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: groupName, MinSize: next.minSize, MaxSize: next.maxSize, DesiredCapacity: next.desiredSize }),
        ),
      );
    }
    return { live, written: next };
  }
}
