/**
 * The part of the VerticalPodAutoscaler v1 CRD schema that prescale emits,
 * transcribed from the upstream CRD
 * kubernetes/autoscaler vertical-pod-autoscaler/deploy/vpa-v1-crd-gen.yaml
 * (verticalpodautoscalers.autoscaling.k8s.io, version v1, openAPIV3Schema):
 *
 * - spec (required) with spec.targetRef (required; atomic map):
 *   apiVersion: string, kind: string (required), name: string (required)
 * - spec.updatePolicy.updateMode: enum "Off" | Initial | Recreate | InPlaceOrRecreate | InPlace | Auto
 * - spec.resourcePolicy.containerPolicies[]:
 *   containerName: string; mode: enum Auto | "Off";
 *   controlledResources: string[] (ResourceName; default [cpu, memory]);
 *   controlledValues: enum RequestsAndLimits | RequestsOnly;
 *   minAllowed / maxAllowed: map of int-or-string quantities matching
 *   ^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$
 *
 * Strict objects: a field the CRD does not define is an error here (the
 * server would prune or, with fieldValidation=Strict, reject it).
 */
import { z } from 'zod';

const QUANTITY = /^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;
const quantity = z.union([z.number().int(), z.string().regex(QUANTITY)]);
const resourceList = z.record(z.string(), quantity);

const containerPolicy = z.strictObject({
  containerName: z.string().optional(),
  mode: z.enum(['Auto', 'Off']).optional(),
  controlledResources: z.array(z.string()).optional(),
  controlledValues: z.enum(['RequestsAndLimits', 'RequestsOnly']).optional(),
  minAllowed: resourceList.optional(),
  maxAllowed: resourceList.optional(),
});

export const verticalPodAutoscalerV1 = z.strictObject({
  apiVersion: z.literal('autoscaling.k8s.io/v1'),
  kind: z.literal('VerticalPodAutoscaler'),
  metadata: z.strictObject({
    name: z.string().min(1),
    namespace: z.string().min(1).optional(),
    labels: z.record(z.string(), z.string()).optional(),
  }),
  spec: z.strictObject({
    targetRef: z.strictObject({ apiVersion: z.string().optional(), kind: z.string(), name: z.string() }),
    updatePolicy: z.strictObject({ updateMode: z.enum(['Off', 'Initial', 'Recreate', 'InPlaceOrRecreate', 'InPlace', 'Auto']).optional() }).optional(),
    resourcePolicy: z.strictObject({ containerPolicies: z.array(containerPolicy).optional() }).optional(),
  }),
});
