/**
 * The DynamoDB StateStore: one table, string `pk`/`sk`, a `ttl` attribute
 * (epoch seconds) for DynamoDB's lazy expiry. Only single-item conditional
 * writes (no transactions: dynalite has none, and none are needed).
 *
 * Item layout (attributes besides pk/sk; `?` = only when defined):
 *
 * | entity          | pk                   | sk                                   | attributes                                        | ttl                 |
 * | --------------- | -------------------- | ------------------------------------ | ------------------------------------------------- | ------------------- |
 * | lease           | `CLUSTER#<cluster>`  | `LEASE`                              | cluster, owner?, fencingToken, expiresAtMs        | none (token must survive) |
 * | cooldown        | `CLUSTER#<cluster>`  | `COOLDOWN#<target>`                  | cluster, target, fencingToken, lastScale{Out,In}Ms? | none              |
 * | planner memory  | `CLUSTER#<cluster>`  | `PLANNER`                            | cluster, fencingToken, memory (JSON)              | none                |
 * | forecast cache  | `CLUSTER#<cluster>`  | `FORECAST#<key>`                     | cluster, key, fittedAtMs, entry (JSON)            | none                |
 * | decision        | `DECISIONS#<cluster>`| `<atMs, 16 digits>#<seq, 12 digits>#<instance>` | atMs, body (JSON)                     | atMs + 90 days      |
 * | audit entry     | `AUDIT#<cluster>`    | same as decision                     | atMs, body (JSON)                                 | atMs + 400 days     |
 * | pending plan    | `PLAN#<id>`          | `PLAN`                               | id, cluster, createdAtMs, expiresAtMs, stateHash, commands (JSON), status, decidedBy?, decidedAtMs? | expiresAtMs + 30 days |
 *
 * TTL deletes lazily (and dynalite never), so every read that can see an
 * expired item checks the expiry itself (rules.ts decides; the memory store
 * uses the same rules). Every SDK error is classified here into a
 * PrescaleError: nothing raw leaves this file.
 */
import { randomUUID } from 'node:crypto';
import type { CreateTableCommandInput, DynamoDBClient, UpdateTimeToLiveCommandInput } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { classifyAwsError } from '../aws/errors.ts';
import { PrescaleError } from '../errors.ts';
import type {
  AuditEntry,
  CooldownState,
  DecisionRecord,
  ForecastCacheEntry,
  Lease,
  PendingPlan,
  PendingPlanStatus,
  PlannerMemory,
  StateStore,
} from '../ports.ts';
import { decodeJson, encodeJson } from './codec.ts';
import {
  AUDIT_RETENTION_MS,
  DECISION_RETENTION_MS,
  PENDING_PLAN_RETENTION_MS,
  checkTransition,
  expiryEpochSeconds,
  firstIncludedMs,
  leaseHeldError,
  normalizePlan,
  planExistsError,
  planPurgeAtMs,
  requireCooldown,
  requireFiniteMs,
  requireLease,
  requireLeaseRequest,
  requireLimit,
  requireLogEntry,
  requireName,
  requirePlan,
  requireTransition,
  sortableMs,
  staleError,
  transitionError,
  viewPlan,
} from './rules.ts';

export const TTL_ATTRIBUTE = 'ttl';

/** The table's schema, shared by tests (dynalite) and serverless.yml so both agree. */
export function tableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    BillingMode: 'PAY_PER_REQUEST',
  };
}

/** TTL is enabled by a separate call (CloudFormation: TimeToLiveSpecification). */
export function timeToLiveDefinition(tableName: string): UpdateTimeToLiveCommandInput {
  return { TableName: tableName, TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true } };
}

// ---------------------------------------------------------------- keys

interface ItemKey {
  readonly pk: string;
  readonly sk: string;
}

const itemKeys = {
  lease: (cluster: string): ItemKey => ({ pk: `CLUSTER#${cluster}`, sk: 'LEASE' }),
  cooldown: (cluster: string, target: string): ItemKey => ({ pk: `CLUSTER#${cluster}`, sk: `COOLDOWN#${target}` }),
  plannerMemory: (cluster: string): ItemKey => ({ pk: `CLUSTER#${cluster}`, sk: 'PLANNER' }),
  forecastCache: (cluster: string, key: string): ItemKey => ({ pk: `CLUSTER#${cluster}`, sk: `FORECAST#${key}` }),
  decisions: (cluster: string): string => `DECISIONS#${cluster}`,
  audit: (cluster: string): string => `AUDIT#${cluster}`,
  pendingPlan: (id: string): ItemKey => ({ pk: `PLAN#${id}`, sk: 'PLAN' }),
};

/**
 * A log entry's sort key: time first, then a per-store sequence (entries one store writes in the same ms
 * keep their order), then the store instance (two Lambdas writing in the same ms never collide).
 */
function logSortKey(atMs: number, sequence: number, instanceId: string): string {
  return `${sortableMs(atMs)}#${String(sequence).padStart(12, '0')}#${instanceId}`;
}

// ---------------------------------------------------------------- errors

function isConditionFailure(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { readonly name?: unknown }).name === 'ConditionalCheckFailedException';
}

/**
 * Maps an SDK error to a PrescaleError. A failed condition means different things per call, so the
 * caller says what it means (`lease-held`, `stale`, `conflict`); without that it is a `conflict`.
 * Every other error is classified by the AWS-wide table (classifyAwsError), which holds the
 * DynamoDB names too; `context` says what call failed on which table and item.
 */
export function classifyDynamoError(error: unknown, context: string, onConditionFailed?: () => PrescaleError): PrescaleError {
  if (!isConditionFailure(error)) return classifyAwsError(error, context);
  const meant = onConditionFailed?.() ?? new PrescaleError('conflict', `${context} failed: the item changed since it was read`);
  return new PrescaleError(meant.code, meant.message, { retryable: meant.retryable, details: meant.details, cause: error });
}

type Operation = 'GetItem' | 'PutItem' | 'UpdateItem' | 'Query';

/** What a call did, where, for error messages: `DynamoDB PutItem prescale-state CLUSTER#prod/LEASE`. */
function callContext(operation: Operation, tableName: string, key: ItemKey | string): string {
  return `DynamoDB ${operation} ${tableName} ${typeof key === 'string' ? key : `${key.pk}/${key.sk}`}`;
}

// ---------------------------------------------------------------- item reading

type Item = Record<string, unknown>;

function malformed(item: Item, attribute: string, expected: string): PrescaleError {
  return new PrescaleError('internal', `stored item ${String(item['pk'])}/${String(item['sk'])} has no ${expected} ${attribute}`);
}

function readString(item: Item, attribute: string): string {
  const value = item[attribute];
  if (typeof value !== 'string') throw malformed(item, attribute, 'string');
  return value;
}

function readNumber(item: Item, attribute: string): number {
  const value = item[attribute];
  if (typeof value !== 'number') throw malformed(item, attribute, 'number');
  return value;
}

function readOptionalString(item: Item, attribute: string): string | undefined {
  return item[attribute] === undefined ? undefined : readString(item, attribute);
}

function readOptionalNumber(item: Item, attribute: string): number | undefined {
  return item[attribute] === undefined ? undefined : readNumber(item, attribute);
}

function planFromItem(item: Item): PendingPlan {
  return {
    id: readString(item, 'id'),
    cluster: readString(item, 'cluster'),
    createdAtMs: readNumber(item, 'createdAtMs'),
    expiresAtMs: readNumber(item, 'expiresAtMs'),
    stateHash: readString(item, 'stateHash'),
    commands: decodeJson(readString(item, 'commands')) as PendingPlan['commands'],
    status: readString(item, 'status') as PendingPlanStatus,
    decidedBy: readOptionalString(item, 'decidedBy'),
    decidedAtMs: readOptionalNumber(item, 'decidedAtMs'),
  };
}

/** Only defined attributes: DynamoDB has no `undefined`, and the caller's client may not strip it. */
function definedOnly(attributes: Record<string, unknown>): Item {
  return Object.fromEntries(Object.entries(attributes).filter(([, value]) => value !== undefined));
}

// ---------------------------------------------------------------- the store

export interface DynamoStateStoreOptions {
  /** A plain client is wrapped in a DynamoDBDocumentClient; a document client is used as it is. */
  readonly client: DynamoDBClient | DynamoDBDocumentClient;
  readonly tableName: string;
  /** Tie-breaker in log sort keys; random per store by default. Inject one for reproducible keys. */
  readonly instanceId?: string;
}

/** Retries of a log append whose sort key already exists (only possible with a reused instanceId). */
const LOG_APPEND_ATTEMPTS = 5;

const FENCED_CONDITION = 'attribute_not_exists(#fencingToken) OR #fencingToken <= :token';

export function createDynamoStateStore(options: DynamoStateStoreOptions): StateStore {
  requireName('tableName', options.tableName);
  const doc = options.client instanceof DynamoDBDocumentClient ? options.client : DynamoDBDocumentClient.from(options.client);
  const TableName = options.tableName;
  const instanceId = options.instanceId ?? randomUUID().slice(0, 8);
  let logSequence = 0;

  /** `key` is the item, or the partition a Query reads. */
  const where = (operation: Operation, key: ItemKey | string): string => callContext(operation, TableName, key);

  async function call<T>(context: string, operation: () => Promise<T>, onConditionFailed?: () => PrescaleError): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw classifyDynamoError(error, context, onConditionFailed);
    }
  }

  /** A conditional write: `false` when the condition failed (the caller decides what that means), any other error classified. */
  async function conditional<T>(context: string, operation: () => Promise<T>): Promise<{ readonly applied: true; readonly output: T } | { readonly applied: false }> {
    try {
      return { applied: true, output: await operation() };
    } catch (error) {
      if (isConditionFailure(error)) return { applied: false };
      throw classifyDynamoError(error, context);
    }
  }

  async function getItem(key: ItemKey): Promise<Item | undefined> {
    const output = await call(where('GetItem', key), () => doc.send(new GetCommand({ TableName, Key: key, ConsistentRead: true })));
    return output.Item;
  }

  async function appendLog(pk: string, atMs: number, retentionMs: number, record: unknown): Promise<void> {
    const body = encodeJson(record);
    for (let attempt = 1; attempt <= LOG_APPEND_ATTEMPTS; attempt += 1) {
      const sk = logSortKey(atMs, logSequence, instanceId);
      logSequence += 1;
      const result = await conditional(where('PutItem', { pk, sk }), () =>
        doc.send(
          new PutCommand({
            TableName,
            Item: { pk, sk, atMs, body, [TTL_ATTRIBUTE]: expiryEpochSeconds(atMs + retentionMs) },
            // Never overwrite another entry: two entries in the same ms both survive.
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#pk': 'pk' },
          }),
        ),
      );
      if (result.applied) return;
    }
    throw new PrescaleError('conflict', `could not find a free sort key for a log entry in ${pk} at ${atMs} (instance ${instanceId} reused?)`, { retryable: true });
  }

  async function listLog<T>(pkOf: (cluster: string) => string, cluster: string, sinceMs: number, limit: number): Promise<T[]> {
    requireName('cluster', cluster);
    requireLimit(limit);
    const fromMs = firstIncludedMs(sinceMs);
    if (limit === 0 || fromMs === undefined) return [];
    const pk = pkOf(cluster);
    const bodies: T[] = [];
    let startKey: Record<string, unknown> | undefined;
    // A page stops at 1 MB: keep reading until `limit` entries or the end.
    do {
      const output = await call(where('Query', pk), () =>
        doc.send(
          new QueryCommand({
            TableName,
            KeyConditionExpression: '#pk = :pk AND #sk >= :from',
            ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
            ExpressionAttributeValues: { ':pk': pk, ':from': sortableMs(fromMs) },
            ScanIndexForward: true,
            Limit: limit - bodies.length,
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      for (const item of output.Items ?? []) bodies.push(decodeJson(readString(item, 'body')) as T);
      startKey = output.LastEvaluatedKey;
    } while (startKey !== undefined && bodies.length < limit);
    return bodies;
  }

  async function getPlan(id: string): Promise<PendingPlan | undefined> {
    const item = await getItem(itemKeys.pendingPlan(id));
    return item === undefined ? undefined : planFromItem(item);
  }

  async function putFenced(lease: Lease, key: ItemKey, attributes: Record<string, unknown>, what: string): Promise<void> {
    await call(
      where('PutItem', key),
      () =>
        doc.send(
          new PutCommand({
            TableName,
            Item: definedOnly({ ...key, cluster: lease.cluster, ...attributes, fencingToken: lease.fencingToken }),
            ConditionExpression: FENCED_CONDITION,
            ExpressionAttributeNames: { '#fencingToken': 'fencingToken' },
            ExpressionAttributeValues: { ':token': lease.fencingToken },
          }),
        ),
      () => staleError(lease.cluster, what, lease.fencingToken),
    );
  }

  return {
    async acquireLease(cluster: string, owner: string, nowMs: number, ttlMs: number): Promise<Lease> {
      requireLeaseRequest(cluster, owner, nowMs, ttlMs);
      const expiresAtMs = nowMs + ttlMs;
      const output = await call(
        where('UpdateItem', itemKeys.lease(cluster)),
        () =>
          doc.send(
            new UpdateCommand({
              TableName,
              Key: itemKeys.lease(cluster),
              // ADD starts a missing token at 0, so the first lease gets 1; every acquisition adds one.
              UpdateExpression: 'SET #owner = :owner, #expiresAtMs = :expiresAtMs, #cluster = :cluster ADD #fencingToken :one',
              ConditionExpression: 'attribute_not_exists(#owner) OR #expiresAtMs <= :nowMs OR #owner = :owner',
              ExpressionAttributeNames: { '#owner': 'owner', '#expiresAtMs': 'expiresAtMs', '#cluster': 'cluster', '#fencingToken': 'fencingToken' },
              ExpressionAttributeValues: { ':owner': owner, ':expiresAtMs': expiresAtMs, ':cluster': cluster, ':one': 1, ':nowMs': nowMs },
              ReturnValues: 'ALL_NEW',
            }),
          ),
        () => leaseHeldError(cluster),
      );
      const item = output.Attributes ?? {};
      return { cluster, owner, fencingToken: readNumber(item, 'fencingToken'), expiresAtMs };
    },

    async releaseLease(lease: Lease): Promise<void> {
      // A failed condition means this is not the current lease any more (expired and re-acquired, or
      // already released): a no-op, as the contract says.
      await conditional(where('UpdateItem', itemKeys.lease(lease.cluster)), () =>
        doc.send(
          new UpdateCommand({
            TableName,
            Key: itemKeys.lease(lease.cluster),
            // The item stays, with its token: deleting it would restart tokens at 1.
            UpdateExpression: 'SET #expiresAtMs = :zero REMOVE #owner',
            ConditionExpression: '#owner = :owner AND #fencingToken = :token',
            ExpressionAttributeNames: { '#owner': 'owner', '#expiresAtMs': 'expiresAtMs', '#fencingToken': 'fencingToken' },
            ExpressionAttributeValues: { ':owner': lease.owner, ':token': lease.fencingToken, ':zero': 0 },
          }),
        ),
      );
    },

    async getCooldown(cluster: string, target: string): Promise<CooldownState> {
      const item = await getItem(itemKeys.cooldown(cluster, target));
      if (item === undefined) return { lastScaleOutMs: undefined, lastScaleInMs: undefined };
      return { lastScaleOutMs: readOptionalNumber(item, 'lastScaleOutMs'), lastScaleInMs: readOptionalNumber(item, 'lastScaleInMs') };
    },

    async putCooldown(lease: Lease, target: string, cooldown: CooldownState): Promise<void> {
      requireLease(lease);
      requireName('cooldown target', target);
      requireCooldown(cooldown);
      await putFenced(lease, itemKeys.cooldown(lease.cluster, target), { target, lastScaleOutMs: cooldown.lastScaleOutMs, lastScaleInMs: cooldown.lastScaleInMs }, `cooldown ${target}`);
    },

    async getPlannerMemory(cluster: string): Promise<PlannerMemory | undefined> {
      const item = await getItem(itemKeys.plannerMemory(cluster));
      return item === undefined ? undefined : (decodeJson(readString(item, 'memory')) as PlannerMemory);
    },

    async putPlannerMemory(lease: Lease, memory: PlannerMemory): Promise<void> {
      requireLease(lease);
      await putFenced(lease, itemKeys.plannerMemory(lease.cluster), { memory: encodeJson(memory) }, 'planner memory');
    },

    async getForecastCache(cluster: string, key: string): Promise<ForecastCacheEntry | undefined> {
      const item = await getItem(itemKeys.forecastCache(cluster, key));
      return item === undefined ? undefined : (decodeJson(readString(item, 'entry')) as ForecastCacheEntry);
    },

    async putForecastCache(cluster: string, key: string, entry: ForecastCacheEntry): Promise<void> {
      requireName('cluster', cluster);
      requireName('forecast cache key', key);
      const itemKey = itemKeys.forecastCache(cluster, key);
      const item = { ...itemKey, cluster, key, fittedAtMs: entry.fittedAtMs, entry: encodeJson(entry) };
      await call(where('PutItem', itemKey), () => doc.send(new PutCommand({ TableName, Item: definedOnly(item) })));
    },

    async appendDecision(record: DecisionRecord): Promise<void> {
      requireLogEntry('decision', record);
      await appendLog(itemKeys.decisions(record.cluster), record.atMs, DECISION_RETENTION_MS, record);
    },

    async listDecisions(cluster: string, sinceMs: number, limit: number): Promise<DecisionRecord[]> {
      return listLog(itemKeys.decisions, cluster, sinceMs, limit);
    },

    async appendAudit(entry: AuditEntry): Promise<void> {
      requireLogEntry('audit', entry);
      await appendLog(itemKeys.audit(entry.cluster), entry.atMs, AUDIT_RETENTION_MS, entry);
    },

    async listAudit(cluster: string, sinceMs: number, limit: number): Promise<AuditEntry[]> {
      return listLog(itemKeys.audit, cluster, sinceMs, limit);
    },

    async putPendingPlan(plan: PendingPlan): Promise<void> {
      requirePlan(plan);
      const item = definedOnly({
        ...itemKeys.pendingPlan(plan.id),
        ...normalizePlan(plan),
        commands: encodeJson(plan.commands),
        [TTL_ATTRIBUTE]: expiryEpochSeconds(planPurgeAtMs(plan.expiresAtMs)),
      });
      await call(
        where('PutItem', itemKeys.pendingPlan(plan.id)),
        () =>
          doc.send(
            new PutCommand({
              TableName,
              Item: item,
              // A plan past its retention reads as gone (TTL may not have run yet): its id may be reused.
              ConditionExpression: 'attribute_not_exists(#pk) OR #expiresAtMs <= :purgedBeforeMs',
              ExpressionAttributeNames: { '#pk': 'pk', '#expiresAtMs': 'expiresAtMs' },
              ExpressionAttributeValues: { ':purgedBeforeMs': plan.createdAtMs - PENDING_PLAN_RETENTION_MS },
            }),
          ),
        () => planExistsError(plan.id),
      );
    },

    async getPendingPlan(id: string, nowMs: number): Promise<PendingPlan | undefined> {
      requireFiniteMs('nowMs', nowMs);
      return viewPlan(await getPlan(id), nowMs);
    },

    async decidePendingPlan(id: string, from: PendingPlanStatus, to: PendingPlanStatus, by: string, nowMs: number): Promise<PendingPlan> {
      requireTransition(from, to);
      requireName('decided by', by);
      requireFiniteMs('nowMs', nowMs);
      const leavingPending = from === 'pending';
      // Same rule as applyTransition: only leaving `pending` records the decider.
      const update = leavingPending ? 'SET #status = :to, #decidedBy = :by, #decidedAtMs = :nowMs' : 'SET #status = :to';
      const conditions = ['attribute_exists(#pk)', '#status = :from', '#expiresAtMs > :purgedBeforeMs'];
      if (leavingPending) conditions.push('#expiresAtMs > :nowMs');
      const result = await conditional(where('UpdateItem', itemKeys.pendingPlan(id)), () =>
        doc.send(
          new UpdateCommand({
            TableName,
            Key: itemKeys.pendingPlan(id),
            UpdateExpression: update,
            ConditionExpression: conditions.join(' AND '),
            ExpressionAttributeNames: {
              '#pk': 'pk',
              '#status': 'status',
              '#expiresAtMs': 'expiresAtMs',
              ...(leavingPending ? { '#decidedBy': 'decidedBy', '#decidedAtMs': 'decidedAtMs' } : {}),
            },
            ExpressionAttributeValues: {
              ':to': to,
              ':from': from,
              ':purgedBeforeMs': nowMs - PENDING_PLAN_RETENTION_MS,
              ...(leavingPending ? { ':by': by, ':nowMs': nowMs } : {}),
            },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      if (result.applied) return planFromItem(result.output.Attributes ?? {});
      // The condition failed: read the plan to say why (not-found, conflict or stale), as the memory store does.
      const check = checkTransition(await getPlan(id), from, nowMs);
      // 'ok' here means the plan changed between the write and the read: someone else still decided first.
      throw transitionError(check === 'ok' ? 'conflict' : check, id, from, to);
    },
  };
}
