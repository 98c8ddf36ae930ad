/**
 * The Kubernetes HPA replica formula, used as prescale's reactive floor so a
 * spike the forecast missed is still chased the way HPA would chase it.
 */

/** HPA leaves replicas alone while |current/target − 1| ≤ tolerance (kube-controller-manager default 0.1). */
export const HPA_TOLERANCE = 0.1;

/**
 * desired = ceil(currentReplicas × currentMetric / targetMetric), unless the
 * ratio is within the tolerance of 1, in which case currentReplicas stays.
 */
export function hpaDesiredReplicas(currentReplicas: number, currentMetric: number, targetMetric: number, tolerance = HPA_TOLERANCE): number {
  if (targetMetric <= 0) throw new RangeError(`targetMetric must be > 0 (got ${targetMetric})`);
  const ratio = currentMetric / targetMetric;
  if (Math.abs(ratio - 1) <= tolerance) return currentReplicas;
  return Math.ceil(currentReplicas * ratio);
}

/** Pods that serve `demand` at `targetUtilization` of what one pod serves: ceil(demand / (per pod × target)). */
export function podsForDemand(demand: number, demandPerPod: number, targetUtilization: number): number {
  return Math.ceil(demand / (demandPerPod * targetUtilization));
}

/**
 * The floor for a demand level: pods running at `targetUtilization` of what
 * one pod serves. With no pods yet, HPA's ratio form is undefined, so the
 * replica count comes straight from demand.
 */
export function reactiveFloorPods(demandNow: number, demandPerPod: number, targetUtilization: number, currentPods: number): number {
  if (currentPods <= 0) return podsForDemand(demandNow, demandPerPod, targetUtilization);
  const utilization = demandNow / (currentPods * demandPerPod);
  return hpaDesiredReplicas(currentPods, utilization, targetUtilization);
}
