import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  InternalServerError,
  ItemCollectionSizeLimitExceededException,
  LimitExceededException,
  ProvisionedThroughputExceededException,
  RequestLimitExceeded,
  ResourceNotFoundException,
  ThrottlingException,
  TransactionConflictException,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { PrescaleError, type ErrorCode } from '../../../lib/errors.ts';
import type { Lease, StateStore } from '../../../lib/ports.ts';
import { classifyDynamoError, createDynamoStateStore, tableDefinition, timeToLiveDefinition } from '../../../lib/state/dynamodb.ts';

const $metadata = {};
const T0 = 1_700_000_000_000;
const LEASE: Lease = { cluster: 'prod', owner: 'run-a', fencingToken: 7, expiresAtMs: T0 + 300_000 };
const CONTEXT = 'DynamoDB GetItem prescale-state CLUSTER#prod/PLANNER';

function named(name: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${name} happened`), { name, ...extra });
}

describe('classifyDynamoError', () => {
  it.each<[string, unknown, ErrorCode, boolean]>([
    ['condition failure without a meaning', new ConditionalCheckFailedException({ message: 'failed', $metadata }), 'conflict', false],
    ['provisioned throughput exceeded', new ProvisionedThroughputExceededException({ message: 'slow down', $metadata }), 'throttling', true],
    ['throttling', new ThrottlingException({ message: 'slow down', $metadata }), 'throttling', true],
    ['request limit exceeded', new RequestLimitExceeded({ message: 'account limit', $metadata }), 'throttling', true],
    ['missing table', new ResourceNotFoundException({ message: 'no table', $metadata }), 'not-found', false],
    ['transaction conflict', new TransactionConflictException({ message: 'busy item', $metadata }), 'conflict', true],
    ['internal server error', new InternalServerError({ message: 'oops', $metadata }), 'unavailable', true],
    ['access denied', named('AccessDeniedException'), 'access-denied', false],
    ['bad credentials', named('UnrecognizedClientException'), 'access-denied', false],
    // DynamoDB's "Item size has exceeded the maximum allowed size" is a ValidationException: never retried.
    ['validation', named('ValidationException'), 'validation', false],
    ['timeout', named('TimeoutError'), 'unavailable', true],
    ['connection refused', named('Error', { code: 'ECONNREFUSED' }), 'unavailable', true],
    ['an unknown 503', named('SomethingNew', { $metadata: { httpStatusCode: 503 } }), 'unavailable', true],
    ['an unknown server fault', named('SomethingNew', { $fault: 'server' }), 'unavailable', true],
    ['an unknown client error', named('SomethingNew', { $fault: 'client', $metadata: { httpStatusCode: 400 } }), 'internal', false],
    ['not even an Error', 'a string', 'internal', false],
    // The DynamoDB names classifyDynamoError once matched itself, now rows of classifyAwsError's table
    // (test/unit/aws/errors.test.ts pins them there by name): these check the delegation end to end.
    // LimitExceededException (too many concurrent table operations) is throttling, as the SDK's retry strategy treats it.
    ['concurrent table operations limit', new LimitExceededException({ message: 'too many table operations', $metadata }), 'throttling', true],
    ['item collection full', new ItemCollectionSizeLimitExceededException({ message: 'collection size exceeded', $metadata }), 'capacity', false],
    ['too many requests', named('TooManyRequestsException'), 'throttling', true],
    ['missing credentials', named('MissingAuthenticationTokenException'), 'access-denied', false],
    ['bad signature', named('InvalidSignatureException'), 'access-denied', false],
    ['expired credentials', named('ExpiredTokenException'), 'access-denied', false],
    ['malformed request', named('SerializationException'), 'validation', false],
    ['service unavailable', named('ServiceUnavailableException'), 'unavailable', true],
    ['request timeout', named('RequestTimeoutException'), 'unavailable', true],
  ])('%s → %s (retryable %s)', (_label, error, code, retryable) => {
    const classified = classifyDynamoError(error, CONTEXT);
    expect(classified).toBeInstanceOf(PrescaleError);
    expect(classified.code).toBe(code);
    expect(classified.retryable).toBe(retryable);
    expect(classified.cause).toBe(error);
  });

  it('gives a condition failure the meaning the caller names, keeping the SDK error as the cause', () => {
    const error = new ConditionalCheckFailedException({ message: 'failed', $metadata });
    const classified = classifyDynamoError(error, CONTEXT, () => new PrescaleError('stale', 'token 3 is older', { retryable: false }));
    expect(classified).toMatchObject({ code: 'stale', message: 'token 3 is older', retryable: false });
    expect(classified.cause).toBe(error);
  });

  it('passes a PrescaleError through unchanged', () => {
    const error = new PrescaleError('validation', 'bad');
    expect(classifyDynamoError(error, CONTEXT)).toBe(error);
  });

  it('says what call failed on which table and item, and why', () => {
    const error = new ResourceNotFoundException({ message: 'Requested resource not found', $metadata });
    expect(classifyDynamoError(error, CONTEXT).message).toBe(`${CONTEXT} failed: resource not found (ResourceNotFoundException: Requested resource not found)`);
    const condition = new ConditionalCheckFailedException({ message: 'failed', $metadata });
    expect(classifyDynamoError(condition, CONTEXT).message).toBe(`${CONTEXT} failed: the item changed since it was read`);
  });
});

describe('DynamoDB state store: SDK inputs and errors', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  let store: StateStore;

  beforeEach(() => {
    ddb.reset();
    const client = new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'fake', secretAccessKey: 'fake' } });
    store = createDynamoStateStore({ client, tableName: 'prescale-state', instanceId: 'i1' });
  });
  afterEach(() => ddb.reset());

  it('acquires a lease with one conditional update that adds 1 to the token', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: { pk: 'CLUSTER#prod', sk: 'LEASE', owner: 'run-a', fencingToken: 4, expiresAtMs: T0 + 300_000 } });
    expect(await store.acquireLease('prod', 'run-a', T0, 300_000)).toEqual({ cluster: 'prod', owner: 'run-a', fencingToken: 4, expiresAtMs: T0 + 300_000 });
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input).toEqual({
      TableName: 'prescale-state',
      Key: { pk: 'CLUSTER#prod', sk: 'LEASE' },
      UpdateExpression: 'SET #owner = :owner, #expiresAtMs = :expiresAtMs, #cluster = :cluster ADD #fencingToken :one',
      ConditionExpression: 'attribute_not_exists(#owner) OR #expiresAtMs <= :nowMs OR #owner = :owner',
      ExpressionAttributeNames: { '#owner': 'owner', '#expiresAtMs': 'expiresAtMs', '#cluster': 'cluster', '#fencingToken': 'fencingToken' },
      ExpressionAttributeValues: { ':owner': 'run-a', ':expiresAtMs': T0 + 300_000, ':cluster': 'prod', ':one': 1, ':nowMs': T0 },
      ReturnValues: 'ALL_NEW',
    });
  });

  it('writes a cooldown with the fencing condition and without undefined attributes', async () => {
    ddb.on(PutCommand).resolves({});
    await store.putCooldown(LEASE, 'general', { lastScaleOutMs: T0, lastScaleInMs: undefined });
    expect(ddb.commandCalls(PutCommand)[0]?.args[0].input).toEqual({
      TableName: 'prescale-state',
      Item: { pk: 'CLUSTER#prod', sk: 'COOLDOWN#general', cluster: 'prod', target: 'general', lastScaleOutMs: T0, fencingToken: 7 },
      ConditionExpression: 'attribute_not_exists(#fencingToken) OR #fencingToken <= :token',
      ExpressionAttributeNames: { '#fencingToken': 'fencingToken' },
      ExpressionAttributeValues: { ':token': 7 },
    });
  });

  it('queries a log oldest first from the padded `since`, consistently, up to the limit', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    await store.listAudit('prod', T0, 25);
    expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input).toEqual({
      TableName: 'prescale-state',
      KeyConditionExpression: '#pk = :pk AND #sk >= :from',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
      ExpressionAttributeValues: { ':pk': 'AUDIT#prod', ':from': '0001700000000000' },
      ScanIndexForward: true,
      Limit: 25,
      ConsistentRead: true,
      ExclusiveStartKey: undefined,
    });
  });

  it('follows LastEvaluatedKey until the limit is reached', async () => {
    const item = (n: number): Record<string, unknown> => ({ body: JSON.stringify({ n }) });
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [item(1)], LastEvaluatedKey: { pk: 'AUDIT#prod', sk: 'a' } })
      .resolvesOnce({ Items: [item(2), item(3)], LastEvaluatedKey: { pk: 'AUDIT#prod', sk: 'b' } });
    expect(await store.listAudit('prod', 0, 3)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    const calls = ddb.commandCalls(QueryCommand).map((c) => [c.args[0].input.Limit, c.args[0].input.ExclusiveStartKey]);
    expect(calls).toEqual([
      [3, undefined],
      [2, { pk: 'AUDIT#prod', sk: 'a' }],
    ]);
  });

  it.each<[string, ErrorCode, (s: StateStore) => Promise<unknown>]>([
    ['acquireLease', 'lease-held', (s) => s.acquireLease('prod', 'run-b', T0, 300_000)],
    ['putCooldown', 'stale', (s) => s.putCooldown(LEASE, 'general', { lastScaleOutMs: T0, lastScaleInMs: undefined })],
    ['putPlannerMemory', 'stale', (s) => s.putPlannerMemory(LEASE, { recommendations: {}, raisedFloors: {} })],
    [
      'putPendingPlan',
      'conflict',
      (s) => s.putPendingPlan({ id: 'p1', cluster: 'prod', createdAtMs: T0, expiresAtMs: T0 + 1, stateHash: 'h', commands: [], status: 'pending', decidedBy: undefined, decidedAtMs: undefined }),
    ],
  ])('a failed condition in %s means %s', async (_name, code, run) => {
    ddb.onAnyCommand().rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata }));
    await expect(run(store)).rejects.toMatchObject({ name: 'PrescaleError', code });
  });

  it('treats a failed condition on release as a no-op', async () => {
    ddb.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata }));
    await expect(store.releaseLease(LEASE)).resolves.toBeUndefined();
  });

  it('retries a log append under a new sort key when the key is taken, then gives up with a retryable conflict', async () => {
    ddb.on(PutCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata }));
    const error = await store.appendAudit({ cluster: 'prod', atMs: T0, actor: 'scheduled', target: 't', reason: 'r', before: 1, after: 2, result: 'applied', message: undefined }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'conflict', retryable: true });
    const keys = ddb.commandCalls(PutCommand).map((c) => c.args[0].input.Item?.['sk']);
    expect(keys).toEqual([0, 1, 2, 3, 4].map((seq) => `0001700000000000#${String(seq).padStart(12, '0')}#i1`));
  });

  it('lets a failed decision say why by reading the plan back', async () => {
    ddb.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata }));
    ddb.on(GetCommand).resolves({
      Item: { pk: 'PLAN#p1', sk: 'PLAN', id: 'p1', cluster: 'prod', createdAtMs: T0, expiresAtMs: T0 + 900_000, stateHash: 'h', commands: '[]', status: 'rejected', decidedBy: 'slack:bob', decidedAtMs: T0 + 1 },
    });
    await expect(store.decidePendingPlan('p1', 'pending', 'approved', 'slack:alice', T0 + 2)).rejects.toMatchObject({ code: 'conflict' });
  });

  // Nothing raw escapes: every method turns throttling into a retryable PrescaleError.
  it.each<[string, (s: StateStore) => Promise<unknown>]>([
    ['acquireLease', (s) => s.acquireLease('prod', 'run-a', T0, 1000)],
    ['releaseLease', (s) => s.releaseLease(LEASE)],
    ['getCooldown', (s) => s.getCooldown('prod', 'general')],
    ['putCooldown', (s) => s.putCooldown(LEASE, 'general', { lastScaleOutMs: undefined, lastScaleInMs: undefined })],
    ['getPlannerMemory', (s) => s.getPlannerMemory('prod')],
    ['putPlannerMemory', (s) => s.putPlannerMemory(LEASE, { recommendations: {}, raisedFloors: {} })],
    ['getForecastCache', (s) => s.getForecastCache('prod', 'k')],
    ['putForecastCache', (s) => s.putForecastCache('prod', 'k', { fittedAtMs: T0, forecast: { model: 'm', startMs: T0, stepSeconds: 60, point: [], quantiles: [] } })],
    ['appendDecision', (s) => s.appendDecision({ cluster: 'prod', atMs: T0, trigger: 'scheduled', fencingToken: 1, forecastModel: undefined, commands: [] })],
    ['listDecisions', (s) => s.listDecisions('prod', 0, 10)],
    ['listAudit', (s) => s.listAudit('prod', 0, 10)],
    ['getPendingPlan', (s) => s.getPendingPlan('p1', T0)],
    ['decidePendingPlan', (s) => s.decidePendingPlan('p1', 'pending', 'approved', 'slack:alice', T0)],
  ])('%s: throttling → PrescaleError throttling, retryable', async (_name, run) => {
    ddb.onAnyCommand().rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata }));
    await expect(run(store)).rejects.toMatchObject({ name: 'PrescaleError', code: 'throttling', retryable: true });
  });

  it('maps a missing table to not-found', async () => {
    ddb.onAnyCommand().rejects(new ResourceNotFoundException({ message: 'Requested resource not found', $metadata }));
    await expect(store.getPlannerMemory('prod')).rejects.toMatchObject({ code: 'not-found', retryable: false });
  });

  it('names the call, the table and the item or partition in the error', async () => {
    ddb.onAnyCommand().rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata }));
    await expect(store.getPlannerMemory('prod')).rejects.toThrow(/^DynamoDB GetItem prescale-state CLUSTER#prod\/PLANNER failed: throttled by AWS/);
    await expect(store.listAudit('prod', 0, 10)).rejects.toThrow(/^DynamoDB Query prescale-state AUDIT#prod failed: /);
    await expect(store.putCooldown(LEASE, 'general', { lastScaleOutMs: T0, lastScaleInMs: undefined })).rejects.toThrow(/^DynamoDB PutItem prescale-state CLUSTER#prod\/COOLDOWN#general failed: /);
    await expect(store.decidePendingPlan('p1', 'pending', 'approved', 'slack:alice', T0)).rejects.toThrow(/^DynamoDB UpdateItem prescale-state PLAN#p1\/PLAN failed: /);
  });
});

describe('table schema', () => {
  it('is pk/sk strings, on demand, with TTL on `ttl`', () => {
    expect(tableDefinition('prescale-state')).toEqual({
      TableName: 'prescale-state',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    });
    expect(timeToLiveDefinition('prescale-state')).toEqual({ TableName: 'prescale-state', TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true } });
  });
});
