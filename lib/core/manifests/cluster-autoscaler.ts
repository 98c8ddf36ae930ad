/**
 * What a Cluster Autoscaler running beside prescale needs to know about the
 * node groups, as the Auto Scaling group tags it reads
 * (https://github.com/kubernetes/autoscaler/blob/master/cluster-autoscaler/cloudprovider/aws/README.md):
 *
 * - auto-discovery tags, so CA manages exactly the groups in the config;
 * - node-template labels and taints, so CA can scale a group up from zero
 *   (spot starts at 0) knowing which pods would fit — with no node to look at,
 *   CA otherwise cannot tell that llm tolerates the compute taint;
 * - a per-group `scaledownunneededtime`, so CA does not remove a node prescale
 *   added ahead of a forecast ramp before the pods arrive (boot + pod start +
 *   one schedule period, plus the metric period prescale keeps capacity for)
 *   or before prescale's own scale-down stabilisation ends. Shorter, and the
 *   two fight: CA removes, prescale adds back.
 *
 * They ship in a ConfigMap (kube-system/prescale-cluster-autoscaler) so they
 * are reviewed in git next to the HPAs and can be copied onto the groups by the
 * infrastructure code (`docs/kubernetes.md` shows the AWS CLI form).
 */
import { stringify } from 'yaml';
import type { NodeGroupConfig, PrescaleConfig } from '../../config/schema.ts';
import type { ManifestObject } from '../../ports.ts';
import { createManagedLabels } from './labels.ts';
import { compareStrings } from './yaml.ts';

export const CLUSTER_AUTOSCALER_TAG_PREFIX = 'k8s.io/cluster-autoscaler';
/** Cluster Autoscaler's own default for --scale-down-unneeded-time. */
const CA_DEFAULT_UNNEEDED_MINUTES = 10;

export function computeScaleDownUnneededMinutes(config: PrescaleConfig, group: NodeGroupConfig): number {
  const services = config.services.filter((s) => s.nodeGroups.includes(group.name));
  const podStartMinutes = Math.max(0, ...services.map((s) => s.podStartMinutes));
  const metricPeriodMinutes = Math.max(0, ...services.map((s) => Math.ceil(s.demand.metric.periodSeconds / 60)));
  const leadMinutes = group.bootMinutes + podStartMinutes + config.policy.scheduleMinutes + metricPeriodMinutes;
  return Math.ceil(Math.max(CA_DEFAULT_UNNEEDED_MINUTES, config.policy.scaleDownStabilizationMinutes + leadMinutes));
}

/** The tags to put on the group's Auto Scaling group, sorted by key. */
export function computeClusterAutoscalerTags(config: PrescaleConfig, group: NodeGroupConfig): Record<string, string> {
  const template = `${CLUSTER_AUTOSCALER_TAG_PREFIX}/node-template`;
  const labels: Record<string, string> = { ...group.labels };
  if (group.type === 'eks-managed') {
    // EKS sets these on every node of a managed group; CA needs them in the template to match selectors on them.
    labels['eks.amazonaws.com/nodegroup'] = group.nodegroupName ?? group.name;
    labels['eks.amazonaws.com/capacityType'] = group.capacityType === 'spot' ? 'SPOT' : 'ON_DEMAND';
  }
  const tags: Record<string, string> = {
    [`${CLUSTER_AUTOSCALER_TAG_PREFIX}/enabled`]: 'true',
    [`${CLUSTER_AUTOSCALER_TAG_PREFIX}/${config.cluster.name}`]: 'owned',
    [`${template}/autoscaling-options/scaledownunneededtime`]: `${computeScaleDownUnneededMinutes(config, group)}m0s`,
  };
  for (const [key, value] of Object.entries(labels)) tags[`${template}/label/${key}`] = value;
  for (const taint of group.taints) tags[`${template}/taint/${taint.key}`] = `${taint.value ?? ''}:${taint.effect}`;
  return Object.fromEntries(Object.entries(tags).sort(([a], [b]) => compareStrings(a, b)));
}

export function renderClusterAutoscalerConfigMap(config: PrescaleConfig): ManifestObject {
  const groups = [...config.nodeGroups]
    .sort((a, b) => compareStrings(a.name, b.name))
    .map((group) => ({
      name: group.name,
      type: group.type,
      ...(group.type === 'asg' ? { autoScalingGroupName: group.autoScalingGroupName } : { nodegroupName: group.nodegroupName ?? group.name }),
      capacityType: group.capacityType,
      // CA reads min/max from the Auto Scaling group itself: keep them equal to these so neither side pushes past the other's bounds.
      minNodes: group.minNodes,
      maxNodes: group.maxNodes,
      autoScalingGroupTags: computeClusterAutoscalerTags(config, group),
    }));
  const args = [`--node-group-auto-discovery=asg:tag=${CLUSTER_AUTOSCALER_TAG_PREFIX}/enabled,${CLUSTER_AUTOSCALER_TAG_PREFIX}/${config.cluster.name}`];
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'prescale-cluster-autoscaler', namespace: 'kube-system', labels: createManagedLabels(config.cluster.name) },
    data: {
      'cluster-autoscaler-args': `${args.join('\n')}\n`,
      'node-groups.yaml': stringify(groups, { sortMapEntries: true, lineWidth: 0, version: '1.1' }),
    },
  };
}
