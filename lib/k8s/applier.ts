/**
 * ManifestApplier over the Kubernetes API: server-side apply with a named field
 * manager and no force by default, so prescale changes only the fields it owns
 * and a conflict with another owner is reported, not overwritten.
 *
 * Field managers:
 * - `prescale` owns the rendered HPAs, VPAs and PDBs;
 * - `prescale-floor` owns `spec.minReplicas` of an HPA while the planner holds
 *   a predictive floor. Applying a minimal HPA (name + `spec.minReplicas`)
 *   under its own manager leaves every other field where it is: had it used
 *   `prescale`, SSA would read the minimal object as prescale's whole intent and
 *   drop the metrics, behavior and bounds prescale owns. The floor never
 *   creates an HPA (a minimal HPA is invalid on its own), so it reads first.
 *   The two managers yield to each other by one rule: the HPA's floor is the
 *   larger of the configured value and the predictive floor.
 */
import { PrescaleError } from '../errors.ts';
import { compareStrings } from '../core/canonical.ts';
import { FIELD_MANAGER, FLOOR_FIELD_MANAGER, MANAGED_BY_LABEL, MANAGED_BY_VALUE, managedLabelSelector, manifestKey } from '../core/manifests/index.ts';
import type { ApplyResult, HpaState, ManifestApplier, ManifestObject } from '../ports.ts';
import type { KubeClient, KubeResponse } from './client.ts';
import { statusMessage } from './client.ts';
import { describeConflicts, parseConflicts } from './status.ts';
import type { FieldConflict } from './status.ts';

export const APPLY_PATCH_CONTENT_TYPE = 'application/apply-patch+yaml';
const HPA_API_VERSION = 'autoscaling/v2';
const HPA_KIND = 'HorizontalPodAutoscaler';

/** The kinds prescale renders, and so the only kinds it may ever prune. */
export const PRUNABLE_KINDS: readonly { readonly apiVersion: string; readonly kind: string }[] = [
  { apiVersion: HPA_API_VERSION, kind: HPA_KIND },
  { apiVersion: 'autoscaling.k8s.io/v1', kind: 'VerticalPodAutoscaler' },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' },
];

export interface ApiResource {
  /** URL segment, e.g. `horizontalpodautoscalers`. */
  readonly plural: string;
  readonly namespaced: boolean;
}

export interface PruneResult {
  readonly key: string;
  readonly outcome: 'deleted' | 'failed';
  readonly message: string | undefined;
}

/** `/api/v1` for the core group, `/apis/<group>/<version>` for the rest. */
export function groupVersionPath(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

export function objectPath(apiVersion: string, resource: ApiResource, namespace: string | undefined, name?: string): string {
  const scope = resource.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${groupVersionPath(apiVersion)}${scope}/${resource.plural}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;
}

/** Why an API is missing, in words an operator can act on. */
export function missingApiMessage(apiVersion: string, kind: string): string {
  if (apiVersion.startsWith('autoscaling.k8s.io/')) {
    return (
      `${kind} (${apiVersion}) is not served by this cluster: the Vertical Pod Autoscaler CRDs are not installed. ` +
      'Install the VPA (https://github.com/kubernetes/autoscaler/tree/master/vertical-pod-autoscaler) or remove the `vpa` blocks from the config; the other objects were applied'
    );
  }
  return `${kind} (${apiVersion}) is not served by this cluster`;
}

function describeObject(object: Pick<ManifestObject, 'kind' | 'metadata'>): string {
  return `${object.kind} ${object.metadata.namespace === undefined ? '' : `${object.metadata.namespace}/`}${object.metadata.name}`;
}

function failure(response: KubeResponse): string {
  return `HTTP ${response.status}: ${statusMessage(response.body) ?? 'no message'}`;
}

interface ListedItem {
  readonly metadata?: { readonly name?: string; readonly namespace?: string; readonly resourceVersion?: string; readonly uid?: string };
  readonly spec?: Record<string, unknown>;
  readonly status?: Record<string, unknown>;
}

function items(response: KubeResponse): ListedItem[] {
  const list = (response.body as { items?: unknown } | undefined)?.items;
  return Array.isArray(list) ? (list as ListedItem[]) : [];
}

export class KubeManifestApplier implements ManifestApplier {
  private readonly client: KubeClient;
  private readonly discovery = new Map<string, Promise<Map<string, ApiResource> | undefined>>();

  constructor(client: KubeClient) {
    this.client = client;
  }

  /**
   * Discovery of one group-version, once per applier. Undefined when the
   * cluster does not serve it (404): the VPA CRD is optional.
   */
  async resourceFor(apiVersion: string, kind: string): Promise<ApiResource | undefined> {
    let pending = this.discovery.get(apiVersion);
    if (pending === undefined) {
      pending = this.discover(apiVersion);
      this.discovery.set(apiVersion, pending);
      pending.catch(() => this.discovery.delete(apiVersion));
    }
    return (await pending)?.get(kind);
  }

  private async discover(apiVersion: string): Promise<Map<string, ApiResource> | undefined> {
    const response = await this.client.request({ method: 'GET', path: groupVersionPath(apiVersion) });
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw new PrescaleError('unavailable', `discovery of ${apiVersion} failed: ${failure(response)}`, { retryable: true });
    const resources = (response.body as { resources?: unknown } | undefined)?.resources;
    const byKind = new Map<string, ApiResource>();
    for (const r of Array.isArray(resources) ? (resources as { name?: unknown; kind?: unknown; namespaced?: unknown }[]) : []) {
      // `horizontalpodautoscalers/status` is a subresource of the same kind: skip it.
      if (typeof r.name !== 'string' || typeof r.kind !== 'string' || r.name.includes('/')) continue;
      byKind.set(r.kind, { plural: r.name, namespaced: r.namespaced === true });
    }
    return byKind;
  }

  async apply(objects: readonly ManifestObject[], options: { readonly fieldManager: string; readonly force: boolean }): Promise<ApplyResult[]> {
    const versionsBefore = new Map<string, Promise<Map<string, string>>>();
    const results: ApplyResult[] = [];
    for (const object of objects) results.push(await this.applyOne(object, options, versionsBefore));
    return results;
  }

  private async applyOne(
    object: ManifestObject,
    options: { readonly fieldManager: string; readonly force: boolean },
    versionsBefore: Map<string, Promise<Map<string, string>>>,
  ): Promise<ApplyResult> {
    const key = manifestKey(object);
    const resource = await this.resourceFor(object.apiVersion, object.kind);
    if (resource === undefined) return { key, outcome: 'failed', message: missingApiMessage(object.apiVersion, object.kind) };

    // Resource versions of prescale's objects before the apply: an apply that changes nothing keeps it.
    const listKey = `${object.apiVersion}/${object.kind}/${object.metadata.namespace ?? ''}`;
    let versions = versionsBefore.get(listKey);
    if (versions === undefined) {
      versions = this.listResourceVersions(object, resource);
      versionsBefore.set(listKey, versions);
    }
    const before = (await versions).get(object.metadata.name);

    const path = objectPath(object.apiVersion, resource, object.metadata.namespace, object.metadata.name);
    let response = await this.serverSideApply(path, object, options.fieldManager, options.force);
    let note: string | undefined;
    if (response.status === 409 && object.kind === HPA_KIND && options.fieldManager !== FLOOR_FIELD_MANAGER) {
      const resolved = await this.yieldToFloor(path, object, options.fieldManager, parseConflicts(response.body));
      if (resolved !== undefined) ({ response, note } = resolved);
    }
    if (response.status === 200 || response.status === 201) {
      const after = (response.body as ListedItem | undefined)?.metadata?.resourceVersion;
      const unchanged = response.status === 200 && before !== undefined && after === before;
      return { key, outcome: unchanged ? 'unchanged' : 'applied', message: note };
    }
    if (response.status === 409) {
      const conflicts = parseConflicts(response.body);
      const detail = conflicts.length > 0 ? describeConflicts(conflicts) : (statusMessage(response.body) ?? 'conflict');
      return {
        key,
        outcome: 'failed',
        message: `${describeObject(object)}: server-side apply as "${options.fieldManager}" conflicts: ${detail}. prescale does not take fields from other managers; stop the other manager from setting them, or apply once with force`,
      };
    }
    if (response.status === 404) {
      return { key, outcome: 'failed', message: `${describeObject(object)}: ${failure(response)} (does namespace ${object.metadata.namespace ?? '(none)'} exist?)` };
    }
    return { key, outcome: 'failed', message: `${describeObject(object)}: ${failure(response)}` };
  }

  /**
   * The rendered HPA meets a floor the planner raised (`prescale-floor` owns
   * spec.minReplicas with another value). A configured value above the floor
   * wins (raising is always safe): apply it with force. Otherwise apply the
   * rest of the HPA without minReplicas, so the floor stays until the planner
   * restores it. Any other conflict is left to the caller.
   */
  private async yieldToFloor(
    path: string,
    object: ManifestObject,
    fieldManager: string,
    conflicts: readonly FieldConflict[],
  ): Promise<{ response: KubeResponse; note: string } | undefined> {
    if (conflicts.length === 0 || !conflicts.every((c) => c.manager === FLOOR_FIELD_MANAGER && c.field === '.spec.minReplicas')) return undefined;
    const spec = (object.spec ?? {}) as Record<string, unknown>;
    const configured = typeof spec.minReplicas === 'number' ? spec.minReplicas : 1;
    const live = await this.client.request({ method: 'GET', path });
    const liveFloor = (live.body as ListedItem | undefined)?.spec?.minReplicas;
    if (live.status !== 200 || typeof liveFloor !== 'number') return undefined;
    if (configured > liveFloor) {
      return { response: await this.serverSideApply(path, object, fieldManager, true), note: `spec.minReplicas raised to the configured ${configured} over the predictive floor ${liveFloor}` };
    }
    const { minReplicas: _floorOwned, ...rest } = spec;
    return {
      response: await this.serverSideApply(path, { ...object, spec: rest }, fieldManager, false),
      note: `spec.minReplicas stays at the predictive floor ${liveFloor} held by "${FLOOR_FIELD_MANAGER}"; the configured ${configured} returns when the planner restores it`,
    };
  }

  private serverSideApply(path: string, object: ManifestObject, fieldManager: string, force: boolean): Promise<KubeResponse> {
    return this.client.request({
      method: 'PATCH',
      path,
      // Strict: an unknown or duplicated field is an error, not silently dropped.
      query: { fieldManager, fieldValidation: 'Strict', ...(force ? { force: 'true' } : {}) },
      contentType: APPLY_PATCH_CONTENT_TYPE,
      // JSON is YAML: the apply-patch+yaml content type takes it as is.
      body: JSON.stringify(object),
    });
  }

  private async listResourceVersions(object: ManifestObject, resource: ApiResource): Promise<Map<string, string>> {
    const response = await this.client.request({
      method: 'GET',
      path: objectPath(object.apiVersion, resource, object.metadata.namespace),
      query: { labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}` },
    });
    const versions = new Map<string, string>();
    if (response.status !== 200) return versions;
    for (const item of items(response)) {
      if (item.metadata?.name !== undefined && item.metadata.resourceVersion !== undefined) versions.set(item.metadata.name, item.metadata.resourceVersion);
    }
    return versions;
  }

  async describeHpas(namespace: string, names: readonly string[]): Promise<HpaState[]> {
    const resource = await this.resourceFor(HPA_API_VERSION, HPA_KIND);
    if (resource === undefined) throw new PrescaleError('unavailable', `${HPA_KIND} (${HPA_API_VERSION}) is not served by this cluster (Kubernetes older than 1.23?)`);
    const response = await this.client.request({ method: 'GET', path: objectPath(HPA_API_VERSION, resource, namespace) });
    if (response.status !== 200) throw new PrescaleError('unavailable', `listing HPAs in ${namespace} failed: ${failure(response)}`, { retryable: response.status >= 500 });
    const wanted = new Set(names);
    return items(response)
      .filter((item) => item.metadata?.name !== undefined && wanted.has(item.metadata.name))
      .map((item): HpaState => {
        const spec = item.spec ?? {};
        const status = item.status ?? {};
        const minReplicas = typeof spec.minReplicas === 'number' ? spec.minReplicas : 1; // the API's default
        const currentReplicas = typeof status.currentReplicas === 'number' ? status.currentReplicas : minReplicas;
        return {
          namespace,
          name: item.metadata?.name ?? '',
          minReplicas,
          maxReplicas: typeof spec.maxReplicas === 'number' ? spec.maxReplicas : minReplicas,
          currentReplicas,
          desiredReplicas: typeof status.desiredReplicas === 'number' ? status.desiredReplicas : currentReplicas,
        };
      })
      .sort((a, b) => compareStrings(a.name, b.name));
  }

  /**
   * Server-side apply of `spec.minReplicas` alone, as `prescale-floor`. Taking
   * the field from prescale's own renderer manager is the point (force, but
   * only then); taking it from anyone else is a conflict the operator resolves.
   */
  async setHpaMinReplicas(namespace: string, name: string, minReplicas: number): Promise<void> {
    if (!Number.isInteger(minReplicas) || minReplicas < 1) throw new PrescaleError('validation', `HPA ${namespace}/${name}: minReplicas must be an integer ≥ 1 (got ${minReplicas})`);
    const resource = await this.resourceFor(HPA_API_VERSION, HPA_KIND);
    if (resource === undefined) throw new PrescaleError('unavailable', `${HPA_KIND} (${HPA_API_VERSION}) is not served by this cluster`);
    const path = objectPath(HPA_API_VERSION, resource, namespace, name);
    const live = await this.client.request({ method: 'GET', path });
    if (live.status === 404) throw new PrescaleError('not-found', `${HPA_KIND} ${namespace}/${name} does not exist: apply the manifests first (npm run render, kubectl apply -k k8s/)`);
    if (live.status !== 200) throw new PrescaleError('unavailable', `reading ${HPA_KIND} ${namespace}/${name} failed: ${failure(live)}`, { retryable: live.status >= 500 });
    const spec = (live.body as ListedItem | undefined)?.spec ?? {};
    if (spec.minReplicas === minReplicas) return;
    if (typeof spec.maxReplicas === 'number' && minReplicas > spec.maxReplicas) {
      throw new PrescaleError('validation', `HPA ${namespace}/${name}: minReplicas ${minReplicas} is above its maxReplicas ${spec.maxReplicas}`);
    }
    const minimal: ManifestObject = { apiVersion: HPA_API_VERSION, kind: HPA_KIND, metadata: { name, namespace }, spec: { minReplicas } };
    let response = await this.serverSideApply(path, minimal, FLOOR_FIELD_MANAGER, false);
    if (response.status === 409) {
      const conflicts = parseConflicts(response.body);
      if (conflicts.length > 0 && conflicts.every((c) => c.manager === FIELD_MANAGER)) {
        response = await this.serverSideApply(path, minimal, FLOOR_FIELD_MANAGER, true);
      } else {
        const detail = conflicts.length > 0 ? describeConflicts(conflicts) : (statusMessage(response.body) ?? 'conflict');
        throw new PrescaleError('conflict', `HPA ${namespace}/${name}: cannot set minReplicas to ${minReplicas}: ${detail}. Another manager owns the HPA's floor; prescale will not take it`);
      }
    }
    if (response.status !== 200 && response.status !== 201) {
      throw new PrescaleError(response.status === 422 ? 'validation' : 'unavailable', `HPA ${namespace}/${name}: setting minReplicas to ${minReplicas} failed: ${failure(response)}`);
    }
  }

  /**
   * Deletes objects of the prunable kinds that carry prescale's labels for this
   * cluster but are not in `desired` — services that left the config. Never
   * touches other kinds or unlabelled objects; the uid precondition keeps a
   * re-created object of the same name from being deleted by a stale listing.
   */
  async prune(desired: readonly ManifestObject[], clusterName: string): Promise<PruneResult[]> {
    if (desired.length === 0) throw new PrescaleError('validation', 'refusing to prune with nothing desired: that would delete every object prescale manages in the cluster');
    const keep = new Set(desired.map(manifestKey));
    const results: PruneResult[] = [];
    for (const { apiVersion, kind } of PRUNABLE_KINDS) {
      const resource = await this.resourceFor(apiVersion, kind);
      if (resource === undefined) continue; // no CRD, nothing of that kind to prune
      const listed = await this.client.request({ method: 'GET', path: objectPath(apiVersion, resource, undefined), query: { labelSelector: managedLabelSelector(clusterName) } });
      if (listed.status !== 200) throw new PrescaleError('unavailable', `listing ${kind} for pruning failed: ${failure(listed)}`, { retryable: listed.status >= 500 });
      for (const item of items(listed)) {
        const name = item.metadata?.name;
        if (name === undefined) continue;
        const namespace = item.metadata?.namespace;
        const key = manifestKey({ apiVersion, kind, metadata: { name, namespace } });
        if (keep.has(key)) continue;
        const uid = item.metadata?.uid;
        const response = await this.client.request({
          method: 'DELETE',
          path: objectPath(apiVersion, resource, namespace, name),
          body: JSON.stringify({ apiVersion: 'v1', kind: 'DeleteOptions', ...(uid === undefined ? {} : { preconditions: { uid } }) }),
        });
        // 404: already gone (a retried delete, or someone else removed it) — the outcome we wanted.
        if (response.status === 200 || response.status === 202 || response.status === 404) results.push({ key, outcome: 'deleted', message: undefined });
        else results.push({ key, outcome: 'failed', message: `${kind} ${namespace ?? ''}/${name}: ${failure(response)}` });
      }
    }
    return results.sort((a, b) => compareStrings(a.key, b.key));
  }
}
