/**
 * A fake Kubernetes API server over HTTPS on loopback, with a test CA
 * (test/support/tls), that records every request. It serves discovery for the
 * groups prescale uses, keeps objects in memory (server-side apply merges maps
 * and replaces lists, bumps resourceVersion only on change), lists with label
 * selectors and deletes with uid preconditions. Tests script anything else —
 * 401, 403, 409 conflicts, 5xx — with `respondOnce` / `intercept`.
 */
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

const tlsFile = (name: string): string => readFileSync(fileURLToPath(new URL(`./tls/${name}`, import.meta.url)), 'utf8');
export const TEST_CA_PEM = tlsFile('ca.crt');
export const OTHER_CA_PEM = tlsFile('other-ca.crt');

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface FakeResponse {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export type Interceptor = (request: RecordedRequest) => FakeResponse | undefined;

interface Matcher {
  readonly method?: string;
  readonly path?: string | RegExp;
}

export interface FakeKubeApi {
  readonly url: string;
  readonly caPem: string;
  readonly requests: RecordedRequest[];
  /** Stored objects by URL path of the object. */
  readonly objects: Map<string, Record<string, unknown>>;
  /** Serve the VPA group (autoscaling.k8s.io/v1) in discovery. */
  vpaInstalled: boolean;
  /** Runs before the default behaviour; the first to return a response wins. */
  intercept(interceptor: Interceptor): void;
  /** The next matching request gets `response`; later ones fall through. */
  respondOnce(match: Matcher, response: FakeResponse): void;
  /** Stores an object as if it had been created, returning its path. */
  seed(object: Record<string, unknown>): string;
  close(): Promise<void>;
}

interface GroupResource {
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

const GROUPS: Readonly<Record<string, readonly GroupResource[]>> = {
  v1: [
    { plural: 'configmaps', kind: 'ConfigMap', namespaced: true },
    { plural: 'namespaces', kind: 'Namespace', namespaced: false },
  ],
  'autoscaling/v2': [{ plural: 'horizontalpodautoscalers', kind: 'HorizontalPodAutoscaler', namespaced: true }],
  'policy/v1': [{ plural: 'poddisruptionbudgets', kind: 'PodDisruptionBudget', namespaced: true }],
  'autoscaling.k8s.io/v1': [
    { plural: 'verticalpodautoscalercheckpoints', kind: 'VerticalPodAutoscalerCheckpoint', namespaced: true },
    { plural: 'verticalpodautoscalers', kind: 'VerticalPodAutoscaler', namespaced: true },
  ],
};

export function kubeStatus(code: number, reason: string, message: string, details?: Record<string, unknown>): FakeResponse {
  return { status: code, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details === undefined ? {} : { details }), code } };
}

/** A 409 exactly as the API server writes an apply conflict. */
export function applyConflict(name: string, group: string, plural: string, conflicts: readonly { manager: string; field: string; apiVersion?: string }[]): FakeResponse {
  const using = (c: { apiVersion?: string }) => (c.apiVersion === undefined ? '' : ` using ${c.apiVersion}`);
  const summary = conflicts.map((c) => `conflict with "${c.manager}"${using(c)}: ${c.field}`).join('\n- ');
  return kubeStatus(409, 'Conflict', `Apply failed with ${conflicts.length} conflict${conflicts.length === 1 ? '' : 's'}: ${summary}`, {
    name,
    group,
    kind: plural,
    causes: conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with "${c.manager}"${using(c)}`, field: c.field })),
  });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Maps merge, lists and scalars replace: enough SSA for one manager at a time. */
function merge(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? merge(current, value) : value;
  }
  return out;
}

function matchesSelector(object: Record<string, unknown>, selector: string | undefined): boolean {
  if (selector === undefined || selector === '') return true;
  const labels = ((object.metadata as { labels?: Record<string, string> } | undefined)?.labels ?? {}) as Record<string, string>;
  return selector.split(',').every((term) => {
    const [key, value] = term.split('=');
    return key !== undefined && labels[key] === value;
  });
}

function routeOf(path: string): { apiVersion: string; resource: GroupResource | undefined; namespace: string | undefined; name: string | undefined } | undefined {
  const match = /^\/(?:api\/(v1)|apis\/([^/]+\/[^/]+))(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?$/.exec(path);
  if (match === null) return undefined;
  const apiVersion = match[1] ?? match[2] ?? '';
  const plural = match[4];
  return {
    apiVersion,
    resource: GROUPS[apiVersion]?.find((r) => r.plural === plural),
    namespace: match[3] === undefined ? undefined : decodeURIComponent(match[3]),
    name: match[5] === undefined ? undefined : decodeURIComponent(match[5]),
  };
}

export async function startFakeKubeApi(options: { vpaInstalled?: boolean } = {}): Promise<FakeKubeApi> {
  const requests: RecordedRequest[] = [];
  const objects = new Map<string, Record<string, unknown>>();
  const interceptors: Interceptor[] = [];
  let nextResourceVersion = 100;
  let nextUid = 1;

  const served = (apiVersion: string): boolean => apiVersion in GROUPS && (apiVersion !== 'autoscaling.k8s.io/v1' || api.vpaInstalled);

  function objectPathFor(object: Record<string, unknown>): string {
    const apiVersion = String(object.apiVersion);
    const resource = GROUPS[apiVersion]?.find((r) => r.kind === object.kind);
    if (resource === undefined) throw new Error(`fake API has no resource for ${apiVersion} ${String(object.kind)}`);
    const metadata = object.metadata as { name: string; namespace?: string };
    const prefix = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    return `${prefix}${resource.namespaced ? `/namespaces/${metadata.namespace ?? 'default'}` : ''}/${resource.plural}/${metadata.name}`;
  }

  function store(path: string, object: Record<string, unknown>, existing: Record<string, unknown> | undefined): Record<string, unknown> {
    const metadata = { ...((object.metadata ?? {}) as Record<string, unknown>) };
    const previous = (existing?.metadata ?? {}) as Record<string, unknown>;
    metadata.uid = previous.uid ?? `uid-${nextUid++}`;
    metadata.resourceVersion = previous.resourceVersion;
    const candidate = { ...object, metadata };
    if (existing === undefined || JSON.stringify(candidate) !== JSON.stringify(existing)) metadata.resourceVersion = String(nextResourceVersion++);
    objects.set(path, candidate);
    return candidate;
  }

  function defaultResponse(req: RecordedRequest): FakeResponse {
    if (!/^Bearer \S+$/.test(String(req.headers.authorization ?? ''))) return kubeStatus(401, 'Unauthorized', 'Unauthorized');
    const discovery = /^\/(?:api\/(v1)|apis\/([^/]+\/[^/]+))$/.exec(req.path);
    if (req.method === 'GET' && discovery !== null) {
      const apiVersion = discovery[1] ?? discovery[2] ?? '';
      if (!served(apiVersion)) return { status: 404, body: '404 page not found\n' };
      const resources = (GROUPS[apiVersion] ?? []).flatMap((r) => [
        { name: r.plural, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
        { name: `${r.plural}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] },
      ]);
      return { status: 200, body: { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersion, resources } };
    }
    const route = routeOf(req.path);
    if (route === undefined || !served(route.apiVersion) || route.resource === undefined) return { status: 404, body: '404 page not found\n' };
    const { resource, namespace, name } = route;
    if (name === undefined) {
      if (req.method !== 'GET') return kubeStatus(405, 'MethodNotAllowed', 'method not allowed');
      const listed = [...objects.entries()]
        .filter(([path]) => {
          const stored = routeOf(path);
          return stored?.apiVersion === route.apiVersion && stored.resource === resource && (namespace === undefined || stored.namespace === namespace);
        })
        .map(([, object]) => object)
        .filter((object) => matchesSelector(object, req.query.labelSelector))
        // A real list leaves apiVersion/kind off the items.
        .map(({ apiVersion: _a, kind: _k, ...rest }) => rest);
      return { status: 200, body: { kind: `${resource.kind}List`, apiVersion: route.apiVersion, metadata: { resourceVersion: String(nextResourceVersion) }, items: listed } };
    }
    const existing = objects.get(req.path);
    const notFound = () => kubeStatus(404, 'NotFound', `${resource.plural}.${route.apiVersion.split('/')[0]} "${name}" not found`, { name, kind: resource.plural });
    switch (req.method) {
      case 'GET':
        return existing === undefined ? notFound() : { status: 200, body: existing };
      case 'PATCH': {
        if (req.headers['content-type'] !== 'application/apply-patch+yaml') return kubeStatus(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/apply-patch+yaml`);
        if (req.query.fieldManager === undefined) return kubeStatus(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
        const patch = JSON.parse(req.body) as Record<string, unknown>;
        const saved = store(req.path, existing === undefined ? patch : merge(existing, patch), existing);
        return { status: existing === undefined ? 201 : 200, body: saved };
      }
      case 'DELETE': {
        if (existing === undefined) return notFound();
        const uid = (JSON.parse(req.body || '{}') as { preconditions?: { uid?: string } }).preconditions?.uid;
        if (uid !== undefined && uid !== (existing.metadata as { uid?: string }).uid) return kubeStatus(409, 'Conflict', `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${String((existing.metadata as { uid?: string }).uid)}`);
        objects.delete(req.path);
        return { status: 200, body: { kind: 'Status', apiVersion: 'v1', status: 'Success' } };
      }
      default:
        return kubeStatus(405, 'MethodNotAllowed', 'method not allowed');
    }
  }

  const server = createServer({ cert: tlsFile('server.crt'), key: tlsFile('server.key') }, (incoming: IncomingMessage, outgoing: ServerResponse) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const url = new URL(incoming.url ?? '/', 'https://localhost');
      const recorded: RecordedRequest = {
        method: incoming.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams.entries()),
        headers: incoming.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      let response: FakeResponse | undefined;
      for (const interceptor of interceptors) {
        response = interceptor(recorded);
        if (response !== undefined) break;
      }
      response ??= defaultResponse(recorded);
      const text = response.body === undefined ? '' : typeof response.body === 'string' ? response.body : JSON.stringify(response.body);
      outgoing.writeHead(response.status, { 'content-type': typeof response.body === 'string' ? 'text/plain' : 'application/json', ...response.headers });
      outgoing.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const api: FakeKubeApi = {
    url: `https://127.0.0.1:${port}`,
    caPem: TEST_CA_PEM,
    requests,
    objects,
    vpaInstalled: options.vpaInstalled ?? true,
    intercept: (interceptor) => interceptors.push(interceptor),
    respondOnce(match, response) {
      let used = false;
      interceptors.unshift((req) => {
        if (used) return undefined;
        if (match.method !== undefined && match.method !== req.method) return undefined;
        if (match.path !== undefined && !(typeof match.path === 'string' ? req.path === match.path : match.path.test(req.path))) return undefined;
        used = true;
        return response;
      });
    },
    seed(object) {
      const path = objectPathFor(object);
      store(path, object, undefined);
      return path;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
      }),
  };
  return api;
}
