/**
 * Placement for each service's Deployment, shipped as a strategic-merge patch
 * rather than as the Deployment: prescale does not own the Deployment (Helm,
 * Argo CD or a team's pipeline does) and must not fight its owner over image,
 * replicas or env. The patch touches only `spec.template.spec.affinity`,
 * `tolerations` and `topologySpreadConstraints`, and carries no labels — a
 * `managed-by: prescale` label on someone else's Deployment would be a lie and
 * would put it in prune's reach.
 */
import type { NodeGroupConfig, PrescaleConfig, ServiceConfig } from '../../config/schema.ts';
import type { ManifestObject } from '../../ports.ts';
import { podSelectorOf } from './labels.ts';
import { compareStrings } from './yaml.ts';

export const ZONE_TOPOLOGY_KEY = 'topology.kubernetes.io/zone';
export const HOSTNAME_TOPOLOGY_KEY = 'kubernetes.io/hostname';
/** EKS puts this label on every node of a managed node group: a selector that needs no user label. */
export const EKS_NODEGROUP_LABEL = 'eks.amazonaws.com/nodegroup';

interface NodeSelectorRequirement {
  readonly key: string;
  readonly operator: 'In';
  readonly values: string[];
}

/** How to select the nodes of one group, or undefined when nothing identifies them (an unlabelled ASG). */
export function nodeGroupSelector(group: NodeGroupConfig): NodeSelectorRequirement[] | undefined {
  const labels = Object.entries(group.labels).sort(([a], [b]) => compareStrings(a, b));
  if (labels.length > 0) return labels.map(([key, value]) => ({ key, operator: 'In', values: [value] }));
  if (group.type === 'eks-managed') return [{ key: EKS_NODEGROUP_LABEL, operator: 'In', values: [group.nodegroupName ?? group.name] }];
  return undefined;
}

export function renderPlacementPatch(config: PrescaleConfig, service: ServiceConfig): ManifestObject {
  const podSpec: Record<string, unknown> = {};
  const affinity = renderAffinity(config, service);
  if (Object.keys(affinity).length > 0) podSpec.affinity = affinity;
  const tolerations = renderTolerations(service);
  if (tolerations.length > 0) podSpec.tolerations = tolerations;
  const spread = renderTopologySpread(service);
  if (spread.length > 0) podSpec.topologySpreadConstraints = spread;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: service.deployment, namespace: service.namespace },
    spec: { template: { spec: podSpec } },
  };
}

function renderAffinity(config: PrescaleConfig, service: ServiceConfig): Record<string, unknown> {
  const affinity: Record<string, unknown> = {};
  const nodeAffinity = renderNodeAffinity(config, service);
  if (nodeAffinity !== undefined) affinity.nodeAffinity = nodeAffinity;
  const term = { labelSelector: { matchLabels: podSelectorOf(service) }, topologyKey: HOSTNAME_TOPOLOGY_KEY };
  if (service.placement.antiAffinity === 'required') {
    affinity.podAntiAffinity = { requiredDuringSchedulingIgnoredDuringExecution: [term] };
  } else if (service.placement.antiAffinity === 'preferred') {
    affinity.podAntiAffinity = { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }] };
  }
  return affinity;
}

/**
 * Required: only the service's node groups (terms are ORed, one per group, or
 * one `In` over the shared key when every group is told apart by the same
 * label). Preferred: the config lists groups in order of preference, so the
 * first gets weight 100 and the rest step down (gateway: general 100, spot 50).
 */
function renderNodeAffinity(config: PrescaleConfig, service: ServiceConfig): Record<string, unknown> | undefined {
  const groups = service.nodeGroups.map((name) => config.nodeGroups.find((g) => g.name === name));
  const selectors = groups.map((group) => (group === undefined ? undefined : nodeGroupSelector(group)));
  // One group we cannot select would make a required term exclude it: leave scheduling alone instead.
  if (selectors.some((s) => s === undefined)) return undefined;
  const known = selectors as NodeSelectorRequirement[][];
  const required = { nodeSelectorTerms: mergeTerms(known).map((matchExpressions) => ({ matchExpressions })) };
  if (known.length < 2) return { requiredDuringSchedulingIgnoredDuringExecution: required };
  const preferred = known.map((matchExpressions, index) => ({
    weight: Math.max(1, Math.round((100 * (known.length - index)) / known.length)),
    preference: { matchExpressions },
  }));
  return { preferredDuringSchedulingIgnoredDuringExecution: preferred, requiredDuringSchedulingIgnoredDuringExecution: required };
}

function mergeTerms(terms: NodeSelectorRequirement[][]): NodeSelectorRequirement[][] {
  const [first] = terms;
  const sharedKey = first?.length === 1 ? first[0]?.key : undefined;
  if (sharedKey !== undefined && terms.every((t) => t.length === 1 && t[0]?.key === sharedKey)) {
    const values = [...new Set(terms.flatMap((t) => t[0]?.values ?? []))].sort(compareStrings);
    return [[{ key: sharedKey, operator: 'In', values }]];
  }
  return terms;
}

function renderTolerations(service: ServiceConfig): Record<string, string>[] {
  return service.tolerations
    .map((t): Record<string, string> => (t.value === undefined ? { key: t.key, operator: 'Exists', effect: t.effect } : { key: t.key, operator: 'Equal', value: t.value, effect: t.effect }))
    .sort((a, b) => compareStrings(`${a.key}\0${a.value ?? ''}\0${a.effect}`, `${b.key}\0${b.value ?? ''}\0${b.effect}`));
}

/**
 * Zones are a hard spread (an outage of one zone must not take most replicas);
 * nodes a soft one (a node per pod is what `antiAffinity: required` is for, and a
 * hard node spread would leave pods Pending during a ramp). `pod-template-hash`
 * makes each rollout revision spread on its own instead of counting old pods.
 */
function renderTopologySpread(service: ServiceConfig): Record<string, unknown>[] {
  const constraint = (topologyKey: string, whenUnsatisfiable: 'DoNotSchedule' | 'ScheduleAnyway') => ({
    labelSelector: { matchLabels: podSelectorOf(service) },
    matchLabelKeys: ['pod-template-hash'],
    maxSkew: 1,
    topologyKey,
    whenUnsatisfiable,
  });
  const constraints = [];
  if (service.placement.spreadNodes) constraints.push(constraint(HOSTNAME_TOPOLOGY_KEY, 'ScheduleAnyway'));
  if (service.placement.spreadZones) constraints.push(constraint(ZONE_TOPOLOGY_KEY, 'DoNotSchedule'));
  return constraints;
}

/** Placement the config asks for but the cluster cannot give; printed by `npm run render`, not fatal. */
export function computePlacementWarnings(config: PrescaleConfig): string[] {
  const warnings: string[] = [];
  config.services.forEach((service, index) => {
    const groups = service.nodeGroups.flatMap((name) => config.nodeGroups.filter((g) => g.name === name));
    for (const group of groups) {
      if (nodeGroupSelector(group) === undefined) {
        warnings.push(`services[${index}] (${service.name}): node group "${group.name}" has no labels to select its nodes by, so no node affinity is rendered; add labels to the group`);
      }
    }
    const maxNodes = groups.reduce((sum, g) => sum + g.maxNodes, 0);
    if (service.placement.antiAffinity === 'required' && service.hpa.maxReplicas > maxNodes) {
      warnings.push(
        `services[${index}] (${service.name}): antiAffinity "required" allows one pod per node, but its node groups hold at most ${maxNodes} nodes and hpa.maxReplicas is ${service.hpa.maxReplicas}: replicas above ${maxNodes} stay Pending`,
      );
    }
  });
  return warnings.sort(compareStrings);
}
