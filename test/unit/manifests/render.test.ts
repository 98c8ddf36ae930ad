import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { parseConfig, parseConfigYaml } from '../../../lib/config/load.ts';
import {
  clusterLabelValue,
  computeClusterAutoscalerTags,
  computePlacementWarnings,
  formatQuantity,
  manifestKey,
  renderManifestTree,
  renderClusterAutoscalerConfigMap,
  renderManifests,
  renderPlacementPatches,
  toYaml,
} from '../../../lib/core/manifests/index.ts';
import { isPrescaleError } from '../../../lib/errors.ts';
import type { ManifestObject } from '../../../lib/ports.ts';

const exampleYaml = readFileSync(new URL('../../../config/example.yaml', import.meta.url), 'utf8');
const config = parseConfigYaml(exampleYaml, 'config/example.yaml');
const objects = renderManifests(config);
const find = (kind: string, name: string): ManifestObject | undefined => objects.find((o) => o.kind === kind && o.metadata.name === name);
const placement = (name: string) => renderPlacementPatches(config).find((p) => p.metadata.name === name) as ManifestObject & { spec: { template: { spec: Record<string, unknown> } } };
const labels = { 'app.kubernetes.io/managed-by': 'prescale', 'prescale.io/cluster': 'debate-prod' };
const meta = (name: string) => ({ name, namespace: 'debate', labels });

/** The example config as raw YAML with one service edited. */
function exampleWith(edit: (raw: { services: Record<string, unknown>[] }) => void): unknown {
  const raw = parseDocument(exampleYaml).toJS() as { services: Record<string, unknown>[] };
  edit(raw);
  return raw;
}

describe('renderManifests for config/example.yaml', () => {
  it('renders an HPA per service, a VPA where configured and a PDB each, sorted by key', () => {
    expect(objects.map(manifestKey)).toEqual([
      'autoscaling.k8s.io/v1/VerticalPodAutoscaler/debate/gateway',
      'autoscaling.k8s.io/v1/VerticalPodAutoscaler/debate/llm',
      'autoscaling/v2/HorizontalPodAutoscaler/debate/context',
      'autoscaling/v2/HorizontalPodAutoscaler/debate/gateway',
      'autoscaling/v2/HorizontalPodAutoscaler/debate/llm',
      'policy/v1/PodDisruptionBudget/debate/context',
      'policy/v1/PodDisruptionBudget/debate/gateway',
      'policy/v1/PodDisruptionBudget/debate/llm',
    ]);
  });

  it('labels every object, rendered or shipped, for pruning', () => {
    const tree = renderManifestTree(config, { source: 'config/example.yaml' });
    const documents = tree
      .filter((f) => !f.path.endsWith('kustomization.yaml') && !f.path.startsWith('placement/'))
      .flatMap((f) => f.content.split(/^---$/m).map((doc) => parseDocument(doc).toJS() as ManifestObject));
    expect(documents.length).toBe(8 + 1 + 2); // 8 objects, the CA ConfigMap, ClusterRole + binding
    for (const document of documents) expect(document.metadata.labels).toEqual(labels);
  });

  it('gateway: HPA on CPU 70 %, memory 80 %, 100 req/s per pod and 50 debates/min, with behavior', () => {
    expect(find('HorizontalPodAutoscaler', 'gateway')).toEqual({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: meta('gateway'),
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'gateway' },
        minReplicas: 3,
        maxReplicas: 20,
        metrics: [
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
          { type: 'Resource', resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: 80 } } },
          { type: 'Pods', pods: { metric: { name: 'requests_per_second' }, target: { type: 'AverageValue', averageValue: '100' } } },
          { type: 'External', external: { metric: { name: 'debates_per_minute' }, target: { type: 'AverageValue', averageValue: '50' } } },
        ],
        behavior: {
          scaleUp: {
            stabilizationWindowSeconds: 0,
            selectPolicy: 'Max',
            policies: [
              { type: 'Percent', value: 100, periodSeconds: 60 },
              { type: 'Pods', value: 4, periodSeconds: 60 },
            ],
          },
          scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: 'Percent', value: 20, periodSeconds: 60 }] },
        },
      },
    });
  });

  it('gateway: VPA in recommendation mode within 100m/256Mi–2/4Gi', () => {
    expect(find('VerticalPodAutoscaler', 'gateway')).toEqual({
      apiVersion: 'autoscaling.k8s.io/v1',
      kind: 'VerticalPodAutoscaler',
      metadata: meta('gateway'),
      spec: {
        targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'gateway' },
        updatePolicy: { updateMode: 'Off' },
        resourcePolicy: {
          containerPolicies: [{ containerName: '*', controlledResources: ['cpu', 'memory'], minAllowed: { cpu: '100m', memory: '256Mi' }, maxAllowed: { cpu: '2', memory: '4Gi' } }],
        },
      },
    });
  });

  it('gateway: PDB maxUnavailable 1 over the Deployment\'s pods', () => {
    expect(find('PodDisruptionBudget', 'gateway')?.spec).toEqual({
      maxUnavailable: 1,
      selector: { matchLabels: { 'app.kubernetes.io/name': 'gateway' } },
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    });
  });

  it('pod selectors use the service\'s podLabels when the config gives them (keys sorted)', () => {
    const raw = parseDocument(exampleYaml).toJS() as { services: Record<string, unknown>[] };
    raw.services[0]!.podLabels = { tier: 'edge', app: 'gw' };
    const custom = parseConfig(raw, 'example with podLabels');
    const pdb = renderManifests(custom).find((o) => o.kind === 'PodDisruptionBudget' && o.metadata.name === 'gateway') as ManifestObject & { spec: { selector: unknown } };
    expect(pdb.spec.selector).toEqual({ matchLabels: { app: 'gw', tier: 'edge' } });
    expect(Object.keys((pdb.spec.selector as { matchLabels: Record<string, string> }).matchLabels)).toEqual(['app', 'tier']);
    const spread = (renderPlacementPatches(custom).find((p) => p.metadata.name === 'gateway') as ManifestObject & { spec: { template: { spec: { topologySpreadConstraints: { labelSelector: unknown }[] } } } }).spec.template.spec.topologySpreadConstraints;
    expect(spread.map((c) => c.labelSelector)).toEqual([{ matchLabels: { app: 'gw', tier: 'edge' } }, { matchLabels: { app: 'gw', tier: 'edge' } }]);
  });

  it('gateway: spread across zones (hard) and nodes (soft); general preferred over spot, spot taint tolerated', () => {
    const spec = placement('gateway').spec.template.spec;
    expect(spec.topologySpreadConstraints).toEqual([
      { labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'gateway' } }, matchLabelKeys: ['pod-template-hash'], maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway' },
      { labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'gateway' } }, matchLabelKeys: ['pod-template-hash'], maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule' },
    ]);
    expect(spec.affinity).toEqual({
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'prescale.io/pool', operator: 'In', values: ['general', 'spot'] }] }] },
        // Two groups in order of preference: weights 100 × 2/2 = 100 and 100 × 1/2 = 50.
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 100, preference: { matchExpressions: [{ key: 'prescale.io/pool', operator: 'In', values: ['general'] }] } },
          { weight: 50, preference: { matchExpressions: [{ key: 'prescale.io/pool', operator: 'In', values: ['spot'] }] } },
        ],
      },
    });
    expect(spec.tolerations).toEqual([{ key: 'prescale.io/spot', operator: 'Equal', value: 'true', effect: 'NoSchedule' }]);
  });

  it('llm: HPA on CPU 60 %, memory 70 %, queue depth 10 and a p95 latency of 5 s; VPA 500m/1Gi–4/8Gi; PDB minAvailable 1', () => {
    const spec = find('HorizontalPodAutoscaler', 'llm')?.spec as Record<string, unknown>;
    expect(spec.minReplicas).toBe(2);
    expect(spec.maxReplicas).toBe(8);
    expect(spec.metrics).toEqual([
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } },
      { type: 'Resource', resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: 70 } } },
      { type: 'Pods', pods: { metric: { name: 'queue_depth' }, target: { type: 'AverageValue', averageValue: '10' } } },
      { type: 'External', external: { metric: { name: 'llm_latency_p95_seconds' }, target: { type: 'Value', value: '5' } } },
    ]);
    expect(spec.behavior).toEqual({ scaleDown: { stabilizationWindowSeconds: 600 } });
    expect((find('VerticalPodAutoscaler', 'llm')?.spec as { resourcePolicy: unknown }).resourcePolicy).toEqual({
      containerPolicies: [{ containerName: '*', controlledResources: ['cpu', 'memory'], minAllowed: { cpu: '500m', memory: '1Gi' }, maxAllowed: { cpu: '4', memory: '8Gi' } }],
    });
    expect((find('PodDisruptionBudget', 'llm')?.spec as { minAvailable?: number }).minAvailable).toBe(1);
  });

  it('llm: only on the tainted compute group, tolerating its taint, preferring one pod per node', () => {
    const spec = placement('llm').spec.template.spec;
    expect(spec.affinity).toEqual({
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'prescale.io/pool', operator: 'In', values: ['compute'] }] }] },
      },
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 100, podAffinityTerm: { labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'llm' } }, topologyKey: 'kubernetes.io/hostname' } },
        ],
      },
    });
    expect(spec.tolerations).toEqual([{ key: 'dedicated', operator: 'Equal', value: 'llm', effect: 'NoSchedule' }]);
    expect((spec.topologySpreadConstraints as { topologyKey: string }[]).map((c) => c.topologyKey)).toEqual(['kubernetes.io/hostname']);
  });

  it('context: HPA on CPU 70 %, memory 75 %, 50 queued items and a 20 % cache-miss ratio; no VPA', () => {
    const metrics = (find('HorizontalPodAutoscaler', 'context')?.spec as { metrics: unknown[] }).metrics;
    expect(metrics.slice(2)).toEqual([
      { type: 'Pods', pods: { metric: { name: 'queue_items' }, target: { type: 'AverageValue', averageValue: '50' } } },
      // 0.2 is not a valid quantity as a float: 0.2 × 1000 = 200 milli-units.
      { type: 'External', external: { metric: { name: 'cache_miss_ratio' }, target: { type: 'Value', value: '200m' } } },
    ]);
    expect(find('VerticalPodAutoscaler', 'context')).toBeUndefined();
  });

  it('context: on the memory group with preferred anti-affinity, spread across zones', () => {
    const spec = placement('context').spec.template.spec;
    expect(spec.affinity).toEqual({
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'prescale.io/pool', operator: 'In', values: ['memory'] }] }] },
      },
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'context' } }, topologyKey: 'kubernetes.io/hostname' } }],
      },
    });
    expect(spec.tolerations).toBeUndefined();
    // Required anti-affinity renders the hard form.
    const raw = parseDocument(exampleYaml).toJS() as { services: { placement: Record<string, unknown> }[] };
    raw.services[2]!.placement.antiAffinity = 'required';
    const required = renderPlacementPatches(parseConfig(raw, 'example, required')).find((p) => p.metadata.name === 'context') as ManifestObject & { spec: { template: { spec: { affinity: { podAntiAffinity: unknown } } } } };
    expect(required.spec.template.spec.affinity.podAntiAffinity).toEqual({
      requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'context' } }, topologyKey: 'kubernetes.io/hostname' }],
    });
  });

  it('placement patches carry no labels: prescale does not claim the Deployment', () => {
    for (const patch of renderPlacementPatches(config)) {
      expect(patch.metadata).toEqual({ name: patch.metadata.name, namespace: 'debate' });
      expect(Object.keys(patch.spec as object)).toEqual(['template']);
    }
  });

  it('warns when required anti-affinity caps replicas at the node count (the example does not)', () => {
    expect(computePlacementWarnings(config)).toEqual([]);
    const raw = parseDocument(exampleYaml).toJS() as { services: { placement: Record<string, unknown> }[] };
    raw.services[2]!.placement.antiAffinity = 'required';
    // required: one pod per node; the memory group holds at most 8 nodes < maxReplicas 15
    expect(computePlacementWarnings(parseConfig(raw, 'example, required'))).toEqual([
      'services[2] (context): antiAffinity "required" allows one pod per node, but its node groups hold at most 8 nodes and hpa.maxReplicas is 15: replicas above 8 stay Pending',
    ]);
  });
});

describe('HPA + VPA overlap', () => {
  it.each([
    ['Auto', 'services[0].vpa controls cpu and memory, which its HPA scales on'],
    ['Recreate', 'services[0].vpa controls cpu and memory, which its HPA scales on'],
    ['Initial', 'services[0].vpa controls cpu and memory, which its HPA scales on'],
  ])('rejects a gateway VPA in %s mode on the resources its HPA scales on', (updateMode, message) => {
    const yaml = exampleYaml.replace('vpa: { updateMode: "Off", minAllowed: { cpu: 100m, memory: 256Mi }', `vpa: { updateMode: "${updateMode}", minAllowed: { cpu: 100m, memory: 256Mi }`);
    expect(yaml).not.toBe(exampleYaml);
    try {
      parseConfigYaml(yaml, 'config/example.yaml');
      expect.unreachable();
    } catch (error) {
      expect(isPrescaleError(error) && error.code).toBe('validation');
      expect((error as Error).message).toContain(message);
      expect((error as Error).message).toContain('use updateMode "Off"');
    }
  });

  it('rejects only the overlapping resource', () => {
    const raw = exampleWith((r) => {
      const gateway = r.services[0] as { vpa: Record<string, unknown> };
      gateway.vpa = { ...gateway.vpa, updateMode: 'Auto', controlledResources: ['memory'] };
    });
    expect(() => parseConfig(raw)).toThrow('services[0].vpa controls memory, which its HPA scales on');
  });

  it('renders an acting VPA when the HPA does not scale on what it controls', () => {
    const raw = exampleWith((r) => {
      const gateway = r.services[0] as { vpa: Record<string, unknown>; hpa: { metrics: { type: string }[] } };
      gateway.hpa.metrics = gateway.hpa.metrics.filter((m) => m.type !== 'memory');
      gateway.vpa = { ...gateway.vpa, updateMode: 'InPlaceOrRecreate', controlledResources: ['memory'] };
    });
    const vpa = renderManifests(parseConfig(raw)).find((o) => o.kind === 'VerticalPodAutoscaler' && o.metadata.name === 'gateway');
    expect((vpa?.spec as { updatePolicy: unknown }).updatePolicy).toEqual({ updateMode: 'InPlaceOrRecreate' });
    expect((vpa?.spec as { resourcePolicy: { containerPolicies: { controlledResources: string[] }[] } }).resourcePolicy.containerPolicies[0]?.controlledResources).toEqual(['memory']);
  });
});

describe('determinism', () => {
  it('renders the same bytes whatever the order of services and node groups', () => {
    const shuffled = exampleWith((r) => {
      r.services.reverse();
      (r as unknown as { nodeGroups: unknown[] }).nodeGroups.reverse();
    });
    const a = renderManifestTree(config, { source: 'x' });
    const b = renderManifestTree(parseConfig(shuffled), { source: 'x' });
    expect(b).toEqual(a);
  });

  it('sorts keys at every depth and quotes YAML 1.1 booleans such as Off', () => {
    expect(toYaml([{ b: 1, a: { d: 'Off', c: 'on' } }])).toBe('a:\n  c: "on"\n  d: "Off"\nb: 1\n');
    expect(toYaml([{ a: 1 }, { b: 2 }])).toBe('a: 1\n---\nb: 2\n');
  });
});

describe('formatQuantity', () => {
  it.each([
    [100, '100'],
    [50, '50'],
    [0.2, '200m'], // float noise: 0.2 × 1000 = 200.00000000000003
    [2.5, '2500m'],
    [0.0005, '500u'],
    [0.0000005, '500n'],
    [0, '0'],
  ])('%s → %s', (value, quantity) => {
    expect(formatQuantity(value)).toBe(quantity);
  });

  it('refuses what no quantity can hold', () => {
    expect(() => formatQuantity(-1)).toThrow(RangeError);
    expect(() => formatQuantity(Number.NaN)).toThrow(RangeError);
  });
});

describe('Cluster Autoscaler tags', () => {
  const group = (name: string) => config.nodeGroups.find((g) => g.name === name) ?? expect.unreachable();

  it('spot: auto-discovery, the template labels and taint for scale-from-zero, and an unneeded time past prescale\'s own', () => {
    expect(computeClusterAutoscalerTags(config, group('spot'))).toEqual({
      'k8s.io/cluster-autoscaler/debate-prod': 'owned',
      'k8s.io/cluster-autoscaler/enabled': 'true',
      // stabilisation 10 + boot 3 + gateway pod start 1 + schedule 1 + the 1-minute metric period kept for = 16 minutes
      'k8s.io/cluster-autoscaler/node-template/autoscaling-options/scaledownunneededtime': '16m0s',
      'k8s.io/cluster-autoscaler/node-template/label/eks.amazonaws.com/capacityType': 'SPOT',
      'k8s.io/cluster-autoscaler/node-template/label/eks.amazonaws.com/nodegroup': 'spot',
      'k8s.io/cluster-autoscaler/node-template/label/prescale.io/pool': 'spot',
      'k8s.io/cluster-autoscaler/node-template/taint/prescale.io/spot': 'true:NoSchedule',
    });
  });

  it('compute: 10 + boot 4 + llm pod start 2 + schedule 1 + metric period 1 = 18 minutes', () => {
    expect(computeClusterAutoscalerTags(config, group('compute'))['k8s.io/cluster-autoscaler/node-template/autoscaling-options/scaledownunneededtime']).toBe('18m0s');
  });

  it('node-groups.yaml quotes a group named like a YAML 1.1 boolean, so a 1.1 reader still sees the name', () => {
    // A group named `no` (every `general` renamed): YAML 1.2 writes it bare, and a YAML 1.1 reader (PyYAML, older Go yaml) reads `name: no` as false.
    const raw = parseDocument(exampleYaml.replaceAll(/\bgeneral\b/g, 'no')).toJS() as unknown;
    const configMap = renderClusterAutoscalerConfigMap(parseConfig(raw)) as ManifestObject & { data: Record<string, string> };
    const groups = parseDocument(configMap.data['node-groups.yaml']!, { version: '1.1' }).toJS() as { name: unknown }[];
    expect(groups.map((g) => g.name).sort()).toEqual(['compute', 'memory', 'no', 'spot']);
  });
});

describe('clusterLabelValue', () => {
  it('keeps a name that is a valid label value', () => {
    expect(clusterLabelValue('debate-prod')).toBe('debate-prod');
  });

  it('shortens a long EKS name to 63 characters with a stable hash suffix', () => {
    const long = `${'a'.repeat(90)}-prod`;
    const value = clusterLabelValue(long);
    expect(value).toHaveLength(63);
    expect(value).toMatch(/^a+-[0-9a-f]{8}$/);
    expect(clusterLabelValue(long)).toBe(value);
    expect(clusterLabelValue(`${'a'.repeat(90)}-test`)).not.toBe(value);
  });
});
