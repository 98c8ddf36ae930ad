import { beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { DescribeClusterCommand, DescribeNodegroupCommand, EKSClient, ResourceInUseException, UpdateNodegroupConfigCommand, type Nodegroup } from '@aws-sdk/client-eks';
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  SetDesiredCapacityCommand,
  UpdateAutoScalingGroupCommand,
  ScalingActivityInProgressFault,
  type AutoScalingGroup,
} from '@aws-sdk/client-auto-scaling';
import { autoScalingGroupStatus, AutoScalingGroups, computeScalingUpdate, countInstances, type ScalingConfig } from '../../../lib/aws/autoscaling.ts';
import { describeCluster, EksNodeGroups, mapNodegroupStatus } from '../../../lib/aws/eks.ts';
import { createAwsCapacity, routeNodeGroup } from '../../../lib/aws/capacity.ts';
import type { NodeGroupConfig } from '../../../lib/config/schema.ts';

const eksMock = mockClient(EKSClient);
const asgMock = mockClient(AutoScalingClient);
const eks = new EKSClient({ region: 'eu-west-1' });
const autoScaling = new AutoScalingClient({ region: 'eu-west-1' });

beforeEach(() => {
  eksMock.reset();
  asgMock.reset();
});

function nodegroup(overrides: Partial<Nodegroup> = {}): Nodegroup {
  return {
    nodegroupName: 'general',
    clusterName: 'prod',
    status: 'ACTIVE',
    scalingConfig: { minSize: 3, maxSize: 20, desiredSize: 5 },
    resources: { autoScalingGroups: [{ name: 'eks-general-abc' }] },
    ...overrides,
  };
}

function instances(states: string[]): AutoScalingGroup['Instances'] {
  return states.map((state, i) => ({ InstanceId: `i-${i}`, AvailabilityZone: 'eu-west-1a', LifecycleState: state as never, HealthStatus: 'Healthy', ProtectedFromScaleIn: false }));
}

function asg(name: string, overrides: Partial<AutoScalingGroup> = {}): AutoScalingGroup {
  return {
    AutoScalingGroupName: name,
    MinSize: 1,
    MaxSize: 10,
    DesiredCapacity: 4,
    DefaultCooldown: 300,
    AvailabilityZones: ['eu-west-1a'],
    HealthCheckType: 'EC2',
    CreatedTime: new Date(0),
    Instances: instances(['InService', 'InService', 'Pending', 'Pending:Wait']),
    ...overrides,
  };
}

describe('computeScalingUpdate', () => {
  const live: ScalingConfig = { minSize: 1, maxSize: 10, desiredSize: 5 };
  it.each<[string, ScalingConfig, number, { minSize: number; maxSize: number }, ScalingConfig | undefined]>([
    ['scales within bounds', live, 7, { minSize: 1, maxSize: 10 }, { minSize: 1, maxSize: 10, desiredSize: 7 }],
    ['no change when desired is the current one', live, 5, { minSize: 1, maxSize: 10 }, undefined],
    // 12 > max 10 → 10
    ['clamps above max', live, 12, { minSize: 1, maxSize: 10 }, { minSize: 1, maxSize: 10, desiredSize: 10 }],
    // 0 < min 1 → 1
    ['clamps below min', live, 0, { minSize: 1, maxSize: 10 }, { minSize: 1, maxSize: 10, desiredSize: 1 }],
    // clamp 12 → 10 = current → nothing to do
    ['no change when the clamp lands on the current desired', { ...live, desiredSize: 10 }, 12, { minSize: 1, maxSize: 10 }, undefined],
    // allowed max 10 > live max 5: max widens to 8
    ['widens max up to the allowed bounds', { minSize: 2, maxSize: 5, desiredSize: 5 }, 8, { minSize: 0, maxSize: 10 }, { minSize: 2, maxSize: 8, desiredSize: 8 }],
    // 15 → allowed max 10; live max 5 widens to 10
    ['widens to the allowed max, no further', { minSize: 2, maxSize: 5, desiredSize: 5 }, 15, { minSize: 0, maxSize: 10 }, { minSize: 2, maxSize: 10, desiredSize: 10 }],
    // 1 < live min 2, allowed min 0: min widens to 1
    ['widens min down', { minSize: 2, maxSize: 5, desiredSize: 3 }, 1, { minSize: 0, maxSize: 10 }, { minSize: 1, maxSize: 5, desiredSize: 1 }],
  ])('%s', (_case, liveConfig, requested, allowed, expected) => {
    expect(computeScalingUpdate(liveConfig, requested, allowed)).toEqual(expected);
  });

  it.each([-1, 2.5, Number.NaN])('rejects desired %d as validation', (requested) => {
    expect(() => computeScalingUpdate(live, requested, live)).toThrow(expect.objectContaining({ code: 'validation', retryable: false }));
  });
});

describe('countInstances and statuses', () => {
  it.each<[string, { LifecycleState: string; HealthStatus?: string }[], { readyNodes: number; bootingNodes: number }]>([
    ['empty', [], { readyNodes: 0, bootingNodes: 0 }],
    ['InService ready, Pending* booting', [{ LifecycleState: 'InService' }, { LifecycleState: 'Pending' }, { LifecycleState: 'Pending:Wait' }, { LifecycleState: 'Pending:Proceed' }], { readyNodes: 1, bootingNodes: 3 }],
    ['unhealthy InService is not ready', [{ LifecycleState: 'InService', HealthStatus: 'Unhealthy' }, { LifecycleState: 'InService', HealthStatus: 'Healthy' }], { readyNodes: 1, bootingNodes: 0 }],
    ['terminating, standby and warm pool count as neither', [{ LifecycleState: 'Terminating' }, { LifecycleState: 'Standby' }, { LifecycleState: 'Warmed:Pending' }, { LifecycleState: 'Detaching' }], { readyNodes: 0, bootingNodes: 0 }],
  ])('countInstances: %s', (_case, list, expected) => {
    expect(countInstances(list as never)).toEqual(expected);
  });

  it.each([
    ['ACTIVE', 'ACTIVE'],
    ['UPDATING', 'UPDATING'],
    ['CREATING', 'CREATING'],
    ['DELETING', 'DELETING'],
    ['DEGRADED', 'DEGRADED'],
    ['CREATE_FAILED', 'DEGRADED'],
    ['DELETE_FAILED', 'DEGRADED'],
    [undefined, 'UNKNOWN'],
    ['SOMETHING_NEW', 'UNKNOWN'],
  ])('mapNodegroupStatus(%s) = %s', (status, mapped) => {
    expect(mapNodegroupStatus(status)).toBe(mapped);
  });

  it.each([
    [undefined, 'ACTIVE'],
    ['Delete in progress', 'DELETING'],
    ['Something else', 'UNKNOWN'],
  ])('autoScalingGroupStatus(%s) = %s', (status, mapped) => {
    expect(autoScalingGroupStatus({ Status: status })).toBe(mapped);
  });
});

describe('EksNodeGroups', () => {
  const groups = new EksNodeGroups(eks, autoScaling);

  it('describes a node group: scaling config from EKS, ready/booting from its ASG', async () => {
    eksMock.on(DescribeNodegroupCommand).resolves({ nodegroup: nodegroup() });
    asgMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [asg('eks-general-abc')] });
    expect(await groups.describeNodeGroups('prod', ['general'])).toEqual([
      { name: 'general', status: 'ACTIVE', desiredNodes: 5, minNodes: 3, maxNodes: 20, readyNodes: 2, bootingNodes: 2 },
    ]);
    expect(eksMock.commandCalls(DescribeNodegroupCommand)[0]!.args[0].input).toEqual({ clusterName: 'prod', nodegroupName: 'general' });
    expect(asgMock.commandCalls(DescribeAutoScalingGroupsCommand)[0]!.args[0].input).toEqual({ AutoScalingGroupNames: ['eks-general-abc'] });
  });

  it('a node group still CREATING has no ASG: nothing ready or booting, no ASG call', async () => {
    eksMock.on(DescribeNodegroupCommand).resolves({ nodegroup: nodegroup({ status: 'CREATING', resources: undefined }) });
    const [state] = await groups.describeNodeGroups('prod', ['general']);
    expect(state).toMatchObject({ status: 'CREATING', readyNodes: 0, bootingNodes: 0 });
    expect(asgMock.commandCalls(DescribeAutoScalingGroupsCommand)).toHaveLength(0);
  });

  it('sends UpdateNodegroupConfig with the exact scaling config', async () => {
    eksMock.on(DescribeNodegroupCommand).resolves({ nodegroup: nodegroup() });
    eksMock.on(UpdateNodegroupConfigCommand).resolves({ update: { id: 'u-1', status: 'InProgress' } });
    await groups.setDesiredNodes('prod', 'general', 8);
    const calls = eksMock.commandCalls(UpdateNodegroupConfigCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toEqual({ clusterName: 'prod', nodegroupName: 'general', scalingConfig: { minSize: 3, maxSize: 20, desiredSize: 8 } });
  });

  it('clamps desired to the live max', async () => {
    eksMock.on(DescribeNodegroupCommand).resolves({ nodegroup: nodegroup() });
    eksMock.on(UpdateNodegroupConfigCommand).resolves({});
    expect(await groups.updateDesiredNodes('prod', 'general', 25)).toEqual({ live: { minSize: 3, maxSize: 20, desiredSize: 5 }, written: { minSize: 3, maxSize: 20, desiredSize: 20 } });
    expect(eksMock.commandCalls(UpdateNodegroupConfigCommand)[0]!.args[0].input.scalingConfig).toEqual({ minSize: 3, maxSize: 20, desiredSize: 20 });
  });

  it('makes no UpdateNodegroupConfig call when nothing changes', async () => {
    eksMock.on(DescribeNodegroupCommand).resolves({ nodegroup: nodegroup() });
    expect(await groups.setDesiredNodes('prod', 'general', 5)).toEqual({ desiredNodes: 5, minNodes: 3, maxNodes: 20 });
    // 30 clamps to max 20, which is already desired: the caller learns the group stays at 20
    eksMock.on(DescribeNodegroupCommand).resolves({ nodegroup: nodegroup({ scalingConfig: { minSize: 3, maxSize: 20, desiredSize: 20 } }) });
    expect(await groups.setDesiredNodes('prod', 'general', 30)).toEqual({ desiredNodes: 20, minNodes: 3, maxNodes: 20 });
    expect(eksMock.commandCalls(UpdateNodegroupConfigCommand)).toHaveLength(0);
  });

  it.each(['UPDATING', 'CREATING', 'DEGRADED', 'DELETING'])('a node group %s is busy (retryable) and is not updated', async (status) => {
    eksMock.on(DescribeNodegroupCommand).resolves({ nodegroup: nodegroup({ status: status as never }) });
    await expect(groups.setDesiredNodes('prod', 'general', 8)).rejects.toMatchObject({
      code: 'busy',
      retryable: true,
      message: `EKS node group prod/general is ${status}, not ACTIVE`,
    });
    expect(eksMock.commandCalls(UpdateNodegroupConfigCommand)).toHaveLength(0);
  });

  it('ResourceInUseException from UpdateNodegroupConfig is busy (retryable)', async () => {
    eksMock.on(DescribeNodegroupCommand).resolves({ nodegroup: nodegroup() });
    eksMock.on(UpdateNodegroupConfigCommand).rejects(new ResourceInUseException({ message: 'An update is already in progress', $metadata: { httpStatusCode: 409 } }));
    await expect(groups.setDesiredNodes('prod', 'general', 8)).rejects.toMatchObject({
      code: 'busy',
      retryable: true,
      message: 'EKS UpdateNodegroupConfig prod/general desired 5 → 8 failed: resource busy with another change (ResourceInUseException: An update is already in progress)',
    });
  });

  it('throttling on DescribeNodegroup is classified retryable', async () => {
    eksMock.on(DescribeNodegroupCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 429 } }));
    await expect(groups.describeNodeGroups('prod', ['general'])).rejects.toMatchObject({ code: 'throttling', retryable: true });
  });

  it('describeCluster returns endpoint, CA and status', async () => {
    eksMock.on(DescribeClusterCommand).resolves({ cluster: { name: 'prod', status: 'ACTIVE', endpoint: 'https://ABC.gr7.eu-west-1.eks.amazonaws.com', certificateAuthority: { data: 'LS0tLS1CRUdJTg==' } } });
    expect(await describeCluster(eks, 'prod')).toEqual({ endpoint: 'https://ABC.gr7.eu-west-1.eks.amazonaws.com', certificateAuthorityData: 'LS0tLS1CRUdJTg==', status: 'ACTIVE' });
    expect(eksMock.commandCalls(DescribeClusterCommand)[0]!.args[0].input).toEqual({ name: 'prod' });
  });

  it('describeCluster on a cluster without an endpoint yet is busy', async () => {
    eksMock.on(DescribeClusterCommand).resolves({ cluster: { name: 'prod', status: 'CREATING' } });
    await expect(groups.describeCluster('prod')).rejects.toMatchObject({ code: 'busy', retryable: true });
  });
});

describe('AutoScalingGroups (self-managed)', () => {
  const groups = new AutoScalingGroups(autoScaling);

  it('SetDesiredCapacity with HonorCooldown false when min/max already hold the target', async () => {
    asgMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [asg('spot-asg')] });
    asgMock.on(SetDesiredCapacityCommand).resolves({});
    await groups.setDesiredNodes('spot-asg', 7, { minSize: 0, maxSize: 15 });
    expect(asgMock.commandCalls(SetDesiredCapacityCommand)[0]!.args[0].input).toEqual({ AutoScalingGroupName: 'spot-asg', DesiredCapacity: 7, HonorCooldown: false });
    expect(asgMock.commandCalls(UpdateAutoScalingGroupCommand)).toHaveLength(0);
  });

  it('UpdateAutoScalingGroup when max must widen (live max 10 < 12 ≤ configured 15)', async () => {
    asgMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [asg('spot-asg')] });
    asgMock.on(UpdateAutoScalingGroupCommand).resolves({});
    await groups.setDesiredNodes('spot-asg', 12, { minSize: 0, maxSize: 15 });
    expect(asgMock.commandCalls(UpdateAutoScalingGroupCommand)[0]!.args[0].input).toEqual({ AutoScalingGroupName: 'spot-asg', MinSize: 1, MaxSize: 12, DesiredCapacity: 12 });
    expect(asgMock.commandCalls(SetDesiredCapacityCommand)).toHaveLength(0);
  });

  it('makes no call when nothing changes', async () => {
    asgMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [asg('spot-asg')] });
    expect(await groups.setDesiredNodes('spot-asg', 4)).toEqual({ live: { minSize: 1, maxSize: 10, desiredSize: 4 }, written: undefined });
    expect(asgMock.commandCalls(SetDesiredCapacityCommand)).toHaveLength(0);
    expect(asgMock.commandCalls(UpdateAutoScalingGroupCommand)).toHaveLength(0);
  });

  it('a missing group is not-found', async () => {
    asgMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
    await expect(groups.setDesiredNodes('nope', 3)).rejects.toMatchObject({ code: 'not-found', message: 'Auto Scaling group nope not found' });
  });

  it('a group being deleted is busy', async () => {
    asgMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [asg('spot-asg', { Status: 'Delete in progress' })] });
    await expect(groups.setDesiredNodes('spot-asg', 3)).rejects.toMatchObject({ code: 'busy', retryable: true });
  });

  it('ScalingActivityInProgressFault is busy (retryable)', async () => {
    asgMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [asg('spot-asg')] });
    asgMock.on(SetDesiredCapacityCommand).rejects(new ScalingActivityInProgressFault({ message: 'Scaling activity is in progress', $metadata: {} }));
    await expect(groups.setDesiredNodes('spot-asg', 6)).rejects.toMatchObject({ code: 'busy', retryable: true });
  });

  it('throttling is retryable', async () => {
    asgMock.on(DescribeAutoScalingGroupsCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } }));
    await expect(groups.describeGroups(['spot-asg'])).rejects.toMatchObject({ code: 'throttling', retryable: true });
  });

  it('describes in calls of 50 names, following NextToken', async () => {
    const names = Array.from({ length: 51 }, (_, i) => `asg-${String(i).padStart(2, '0')}`);
    asgMock
      .on(DescribeAutoScalingGroupsCommand)
      .callsFake((input: { AutoScalingGroupNames: string[]; NextToken?: string }) => {
        // the first batch answers in two pages
        if (input.AutoScalingGroupNames.length === 50 && input.NextToken === undefined) {
          return { AutoScalingGroups: input.AutoScalingGroupNames.slice(0, 25).map((n) => asg(n)), NextToken: 't2' };
        }
        if (input.NextToken === 't2') return { AutoScalingGroups: input.AutoScalingGroupNames.slice(25).map((n) => asg(n)) };
        return { AutoScalingGroups: input.AutoScalingGroupNames.map((n) => asg(n)) };
      });
    const states = await groups.describeGroups(names);
    expect(states.map((s) => s.name)).toEqual(names);
    expect(asgMock.commandCalls(DescribeAutoScalingGroupsCommand).map((c) => [c.args[0].input.AutoScalingGroupNames!.length, c.args[0].input.NextToken])).toEqual([
      [50, undefined],
      [50, 't2'],
      [1, undefined],
    ]);
  });
});

describe('AwsCapacity router', () => {
  function config(overrides: Pick<NodeGroupConfig, 'name' | 'type' | 'minNodes' | 'maxNodes'> & Partial<NodeGroupConfig>): NodeGroupConfig {
    return {
      instanceTypes: ['m5.large'],
      capacityType: 'on-demand',
      allocatable: { cpuMillicores: 1930, memoryMiB: 7000, pods: 29 },
      bootMinutes: 3,
      labels: {},
      taints: [],
      ...overrides,
    };
  }
  const configs: NodeGroupConfig[] = [
    config({ name: 'general', type: 'eks-managed', nodegroupName: 'prod-general-2024', minNodes: 3, maxNodes: 20 }),
    config({ name: 'compute', type: 'eks-managed', minNodes: 1, maxNodes: 10 }),
    config({ name: 'spot', type: 'asg', autoScalingGroupName: 'prod-spot-asg', minNodes: 0, maxNodes: 15 }),
  ];
  const capacity = createAwsCapacity(configs, { eks, autoScaling });

  it.each<[string, object]>([
    ['general', { kind: 'eks-managed', nodegroupName: 'prod-general-2024' }],
    ['compute', { kind: 'eks-managed', nodegroupName: 'compute' }],
    ['spot', { kind: 'asg', autoScalingGroupName: 'prod-spot-asg', minSize: 0, maxSize: 15 }],
  ])('routeNodeGroup(%s)', (name, route) => {
    expect(routeNodeGroup(configs.find((c) => c.name === name)!)).toEqual(route);
  });

  it('an asg group without autoScalingGroupName is a config error', () => {
    expect(() => routeNodeGroup(config({ name: 'x', type: 'asg', minNodes: 0, maxNodes: 1 }))).toThrow(expect.objectContaining({ code: 'config' }));
  });

  it('describes each group where it lives and answers under the config names, in order', async () => {
    eksMock.on(DescribeNodegroupCommand, { clusterName: 'prod', nodegroupName: 'prod-general-2024' }).resolves({ nodegroup: nodegroup({ nodegroupName: 'prod-general-2024' }) });
    eksMock.on(DescribeNodegroupCommand, { clusterName: 'prod', nodegroupName: 'compute' }).resolves({
      nodegroup: nodegroup({ nodegroupName: 'compute', scalingConfig: { minSize: 1, maxSize: 10, desiredSize: 2 }, resources: { autoScalingGroups: [{ name: 'eks-compute-def' }] } }),
    });
    asgMock.on(DescribeAutoScalingGroupsCommand).callsFake((input: { AutoScalingGroupNames: string[] }) => ({
      AutoScalingGroups: input.AutoScalingGroupNames.map((n) => asg(n, n === 'prod-spot-asg' ? { MinSize: 0, MaxSize: 15, DesiredCapacity: 1, Instances: instances(['InService']) } : {})),
    }));
    const states = await capacity.describeNodeGroups('prod', ['spot', 'general', 'compute']);
    expect(states).toEqual([
      { name: 'spot', status: 'ACTIVE', desiredNodes: 1, minNodes: 0, maxNodes: 15, readyNodes: 1, bootingNodes: 0 },
      { name: 'general', status: 'ACTIVE', desiredNodes: 5, minNodes: 3, maxNodes: 20, readyNodes: 2, bootingNodes: 2 },
      { name: 'compute', status: 'ACTIVE', desiredNodes: 2, minNodes: 1, maxNodes: 10, readyNodes: 2, bootingNodes: 2 },
    ]);
  });

  it('resizes an EKS group under its EKS name', async () => {
    eksMock.on(DescribeNodegroupCommand).resolves({ nodegroup: nodegroup({ nodegroupName: 'prod-general-2024' }) });
    eksMock.on(UpdateNodegroupConfigCommand).resolves({});
    await capacity.setDesiredNodes('prod', 'general', 6);
    expect(eksMock.commandCalls(UpdateNodegroupConfigCommand)[0]!.args[0].input).toEqual({
      clusterName: 'prod',
      nodegroupName: 'prod-general-2024',
      scalingConfig: { minSize: 3, maxSize: 20, desiredSize: 6 },
    });
  });

  it('resizes a self-managed group within its configured bounds', async () => {
    asgMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [asg('prod-spot-asg', { MinSize: 0, MaxSize: 5, DesiredCapacity: 5 })] });
    asgMock.on(UpdateAutoScalingGroupCommand).resolves({});
    // 40 clamps to the configured max 15; live max 5 widens to 15
    expect(await capacity.setDesiredNodes('prod', 'spot', 40)).toEqual({ desiredNodes: 15, minNodes: 0, maxNodes: 15 });
    expect(asgMock.commandCalls(UpdateAutoScalingGroupCommand)[0]!.args[0].input).toEqual({ AutoScalingGroupName: 'prod-spot-asg', MinSize: 0, MaxSize: 15, DesiredCapacity: 15 });
  });

  it('a node group not in the config is not-found', async () => {
    await expect(capacity.setDesiredNodes('prod', 'mystery', 3)).rejects.toMatchObject({ code: 'not-found' });
  });
});
