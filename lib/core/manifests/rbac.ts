/**
 * The least the prescale Lambda needs in the cluster: apply, read and prune
 * its own HPAs, VPAs and PDBs. Nothing on Deployments, Pods or Nodes (placement
 * ships as a patch for the Deployment's owner; node groups change through the
 * EKS API). Bound to a Kubernetes group that the EKS access entry of the
 * Lambda's IAM role names, so no aws-auth ConfigMap edit is needed.
 */
import type { PrescaleConfig } from '../../config/schema.ts';
import type { ManifestObject } from '../../ports.ts';
import { createManagedLabels } from './labels.ts';

export const PRESCALE_KUBERNETES_GROUP = 'prescale';
export const PRESCALE_CLUSTER_ROLE = 'prescale';

/** SSA of an object that does not exist yet is a create; prune is list + delete; the planner reads HPAs. */
const VERBS = ['create', 'delete', 'get', 'list', 'patch'];

export function renderRbac(config: PrescaleConfig): ManifestObject[] {
  const labels = createManagedLabels(config.cluster.name);
  const role: ManifestObject = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: PRESCALE_CLUSTER_ROLE, labels },
    rules: [
      { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: VERBS },
      { apiGroups: ['autoscaling.k8s.io'], resources: ['verticalpodautoscalers'], verbs: VERBS },
      { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: VERBS },
    ],
  };
  const binding: ManifestObject = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: PRESCALE_CLUSTER_ROLE, labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: PRESCALE_CLUSTER_ROLE },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: PRESCALE_KUBERNETES_GROUP }],
  };
  return [role, binding];
}
