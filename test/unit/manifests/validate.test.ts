/**
 * Every object prescale renders or ships, checked against the Kubernetes
 * OpenAPI schemas (kubernetes-models) and the VPA CRD schema (vpa-crd-schema.ts).
 * kubernetes-models checks types, enums and required fields, not unknown keys;
 * the API server catches those (prescale applies with fieldValidation=Strict).
 */
import { readFileSync } from 'node:fs';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseConfigYaml } from '../../../lib/config/load.ts';
import { renderClusterAutoscalerConfigMap, renderManifests, renderPlacementPatches, renderRbac } from '../../../lib/core/manifests/index.ts';
import type { ManifestObject } from '../../../lib/ports.ts';
import { verticalPodAutoscalerV1 } from './vpa-crd-schema.ts';

const config = parseConfigYaml(readFileSync(new URL('../../../config/example.yaml', import.meta.url), 'utf8'), 'config/example.yaml');

function validate(object: ManifestObject): void {
  const data = object as never;
  switch (`${object.apiVersion}/${object.kind}`) {
    case 'autoscaling/v2/HorizontalPodAutoscaler':
      return new HorizontalPodAutoscaler(data).validate();
    case 'policy/v1/PodDisruptionBudget':
      return new PodDisruptionBudget(data).validate();
    case 'v1/ConfigMap':
      return new ConfigMap(data).validate();
    case 'rbac.authorization.k8s.io/v1/ClusterRole':
      return new ClusterRole(data).validate();
    case 'rbac.authorization.k8s.io/v1/ClusterRoleBinding':
      return new ClusterRoleBinding(data).validate();
    case 'autoscaling.k8s.io/v1/VerticalPodAutoscaler': {
      const result = verticalPodAutoscalerV1.safeParse(object);
      if (!result.success) throw new Error(result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      return;
    }
    default:
      throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  }
}

/** The placement patch merged into the smallest valid Deployment, as kustomize would. */
function patchedDeployment(patch: ManifestObject): Deployment {
  const podSpec = (patch.spec as { template: { spec: Record<string, unknown> } }).template.spec;
  const labels = { 'app.kubernetes.io/name': patch.metadata.name };
  return new Deployment({
    metadata: { name: patch.metadata.name, namespace: patch.metadata.namespace ?? 'default' },
    spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'app:1' }], ...podSpec } } },
  });
}

describe('schema validation', () => {
  const shipped = [...renderManifests(config), renderClusterAutoscalerConfigMap(config), ...renderRbac(config)];

  it.each(shipped.map((o) => [`${o.kind} ${o.metadata.name}`, o] as const))('%s is valid', (_label, object) => {
    expect(() => validate(object)).not.toThrow();
  });

  it.each(renderPlacementPatches(config).map((p) => [p.metadata.name, p] as const))('placement for %s makes a valid Deployment', (_name, patch) => {
    expect(() => patchedDeployment(patch).validate()).not.toThrow();
  });

  it('the validators do reject a broken object (a negative control)', () => {
    const [hpa] = renderManifests(config).filter((o) => o.kind === 'HorizontalPodAutoscaler');
    const broken = { ...(hpa as ManifestObject), spec: { ...((hpa as ManifestObject).spec as object), maxReplicas: '20' } };
    expect(() => validate(broken)).toThrow(/maxReplicas must be integer/);
    const [vpa] = renderManifests(config).filter((o) => o.kind === 'VerticalPodAutoscaler');
    const badMode = { ...(vpa as ManifestObject), spec: { ...((vpa as ManifestObject).spec as object), updatePolicy: { updateMode: false } } };
    expect(() => validate(badMode)).toThrow(/updatePolicy.updateMode/);
    const badQuantity = {
      ...(vpa as ManifestObject),
      spec: { ...((vpa as ManifestObject).spec as object), resourcePolicy: { containerPolicies: [{ containerName: '*', minAllowed: { cpu: '0.1 cores' } }] } },
    };
    expect(() => validate(badQuantity)).toThrow(/minAllowed/);
  });
});
