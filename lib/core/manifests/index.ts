export { renderClusterAutoscalerConfigMap, computeClusterAutoscalerTags, computeScaleDownUnneededMinutes } from './cluster-autoscaler.ts';
export { renderHpa, renderMetric } from './hpa.ts';
export {
  CLUSTER_LABEL,
  FIELD_MANAGER,
  FLOOR_FIELD_MANAGER,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  clusterLabelValue,
  createManagedLabels,
  managedLabelSelector,
  podSelectorOf,
} from './labels.ts';
export { renderPdb } from './pdb.ts';
export { computePlacementWarnings, nodeGroupSelector, renderPlacementPatch } from './placement.ts';
export { formatQuantity } from './quantity.ts';
export { PRESCALE_CLUSTER_ROLE, PRESCALE_KUBERNETES_GROUP, renderRbac } from './rbac.ts';
export { GENERATED_MARKER, manifestKey, renderManifestTree, renderManifests, renderPlacementPatches, sortManifests } from './render.ts';
export type { RenderedFile } from './render.ts';
export { renderVpa, VPA_ALL_CONTAINERS } from './vpa.ts';
export { sortKeysDeep, toYaml } from './yaml.ts';
