/**
 * Rules the AWS Load Balancer Controller owns: it reconciles them from the
 * Ingress, so weights prescale wrote would be overwritten on its next sync (and
 * the two would fight). Such a rule is refused, never modified.
 */

/**
 * Tag keys the controller puts on what it creates: `elbv2.k8s.aws/cluster` (v2),
 * `ingress.k8s.aws/*` (Ingress stacks, and v1's cluster tag), `service.k8s.aws/*`
 * (Service stacks).
 */
export const CONTROLLER_TAG_KEYS: readonly string[] = [
  'elbv2.k8s.aws/cluster',
  'ingress.k8s.aws/cluster',
  'ingress.k8s.aws/resource',
  'ingress.k8s.aws/stack',
  'service.k8s.aws/resource',
  'service.k8s.aws/stack',
];

/** Tags as DescribeTags returns them (`[{ Key, Value }]`) or as a plain map. */
export type ResourceTags = Readonly<Record<string, string>> | readonly { readonly Key?: string | undefined; readonly Value?: string | undefined }[];

function tagKeys(tags: ResourceTags): string[] {
  if (Array.isArray(tags)) return (tags as readonly { readonly Key?: string | undefined }[]).flatMap((tag) => (tag.Key === undefined ? [] : [tag.Key]));
  return Object.keys(tags);
}

export function isControllerManaged(tags: ResourceTags): boolean {
  return tagKeys(tags).some((key) => CONTROLLER_TAG_KEYS.includes(key));
}

/** The Ingress stack (`namespace/ingress` or an IngressGroup name) the controller tagged, if any: it tells the user which Ingress to edit. */
export function controllerStack(tags: ResourceTags): string | undefined {
  if (Array.isArray(tags)) {
    return (tags as readonly { readonly Key?: string | undefined; readonly Value?: string | undefined }[]).find((tag) => tag.Key === 'ingress.k8s.aws/stack')?.Value;
  }
  return (tags as Readonly<Record<string, string>>)['ingress.k8s.aws/stack'];
}

export const CONTROLLER_MANAGED_REFUSAL =
  'managed by the AWS Load Balancer Controller: set weights with the Ingress annotation alb.ingress.kubernetes.io/actions.<name> instead';

/** `ALB rule gateway is managed by … instead (Ingress stack prod/gateway)`. */
export function controllerManagedMessage(ruleName: string, stack?: string): string {
  return `ALB rule ${ruleName} is ${CONTROLLER_MANAGED_REFUSAL}${stack === undefined ? '' : ` (Ingress stack ${stack})`}`;
}
