import { describe, expect, it } from 'vitest';
import { ResourceInUseException, ResourceNotFoundException, InvalidParameterException } from '@aws-sdk/client-eks';
import { ScalingActivityInProgressFault, ResourceContentionFault, LimitExceededFault } from '@aws-sdk/client-auto-scaling';
import { RuleNotFoundException, TargetGroupNotFoundException, ListenerNotFoundException } from '@aws-sdk/client-elastic-load-balancing-v2';
import { callAws, classifyAwsError, classifyAwsErrorName, normalizeErrorName } from '../../../lib/aws/errors.ts';
import { PrescaleError, type ErrorCode } from '../../../lib/errors.ts';

/** An error shaped as the SDK throws an unmodelled one: name = wire code, $metadata with status. */
function awsError(name: string, message: string, httpStatusCode?: number): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode, requestId: 'req-1' } });
}

describe('classifyAwsErrorName', () => {
  it.each<[name: string, message: string, status: number | undefined, code: ErrorCode, retryable: boolean]>([
    // throttling (retryable)
    ['Throttling', 'Rate exceeded', 400, 'throttling', true],
    ['ThrottlingException', 'Rate exceeded', 400, 'throttling', true],
    ['TooManyRequestsException', 'slow down', 429, 'throttling', true],
    ['RequestLimitExceeded', 'Request limit exceeded.', 503, 'throttling', true],
    ['ProvisionedThroughputExceededException', 'x', 400, 'throttling', true],
    ['SlowDown', 'x', 503, 'throttling', true],
    // busy (retryable)
    ['ResourceInUseException', 'Nodegroup cannot be updated as it is currently not in Active State', 409, 'busy', true],
    ['ScalingActivityInProgress', 'Scaling activity in progress', 400, 'busy', true],
    ['ScalingActivityInProgressFault', 'Scaling activity in progress', 400, 'busy', true],
    ['ResourceContention', 'try again', 500, 'busy', true],
    ['ResourceContentionFault', 'try again', 500, 'busy', true],
    // not found
    ['ResourceNotFoundException', 'No node group found for name: x.', 404, 'not-found', false],
    ['NoSuchEntity', 'x', 404, 'not-found', false],
    ['TargetGroupNotFound', 'x', 400, 'not-found', false],
    ['TargetGroupNotFoundException', 'x', 400, 'not-found', false],
    ['RuleNotFound', 'x', 400, 'not-found', false],
    ['ListenerNotFoundException', 'x', 400, 'not-found', false],
    // Auto Scaling says "not found" through a generic ValidationError
    ['ValidationError', 'AutoScalingGroup name not found - AutoScalingGroup general not found', 400, 'not-found', false],
    // access denied
    ['AccessDenied', 'x', 403, 'access-denied', false],
    ['AccessDeniedException', 'x', 403, 'access-denied', false],
    ['UnauthorizedOperation', 'x', 403, 'access-denied', false],
    ['UnrecognizedClientException', 'The security token included in the request is invalid.', 403, 'access-denied', false],
    ['ExpiredToken', 'x', 403, 'access-denied', false],
    ['ExpiredTokenException', 'x', 400, 'access-denied', false],
    // validation: never retryable, whatever the status
    ['ValidationException', 'x', 400, 'validation', false],
    ['ValidationError', '1 validation error detected', 400, 'validation', false],
    ['InvalidParameterException', 'desiredSize can not be greater than maxSize', 400, 'validation', false],
    ['InvalidParameterValue', 'x', 400, 'validation', false],
    ['InvalidRequestException', 'x', 400, 'validation', false],
    // capacity
    ['InsufficientInstanceCapacity', 'x', 500, 'capacity', false],
    ['LimitExceeded', 'x', 400, 'capacity', false],
    ['LimitExceededFault', 'x', 400, 'capacity', false],
    ['ServiceQuotaExceededException', 'x', 402, 'capacity', false],
    ['TooManyTargetGroupsException', 'x', 400, 'capacity', false],
    // AWS side (retryable)
    ['ServiceUnavailable', 'x', 503, 'unavailable', true],
    ['InternalFailure', 'x', 500, 'unavailable', true],
    ['InternalServiceFault', 'x', 500, 'unavailable', true],
    ['ServerException', 'x', 500, 'unavailable', true],
    ['TimeoutError', 'socket hang up', undefined, 'unavailable', true],
    ['RequestTimeout', 'x', 408, 'unavailable', true],
    ['AbortError', 'Request aborted', undefined, 'unavailable', true],
    // DynamoDB: lib/state/dynamodb.ts delegates every error but ConditionalCheckFailedException to this table,
    // so these rows pin what its own classifier used to decide, name by name (statuses as DynamoDB sends them).
    ['ProvisionedThroughputExceededException', 'The level of configured provisioned throughput for the table was exceeded', 400, 'throttling', true],
    ['RequestLimitExceeded', 'Throughput exceeds the current throughput limit for your account', 400, 'throttling', true],
    ['ThrottlingException', 'Rate of requests exceeds the allowed throughput', 400, 'throttling', true],
    ['TooManyRequestsException', 'x', 400, 'throttling', true],
    // LimitExceededException: too many concurrent table operations. Throttling, as the SDK's retry strategy
    // treats this exact name (it retries it), unlike Auto Scaling's LimitExceededFault, a quota (capacity, above).
    ['LimitExceededException', 'Too many concurrent table operations', 400, 'throttling', true],
    ['TransactionConflictException', 'Transaction is ongoing for the item', 400, 'conflict', true],
    ['ResourceNotFoundException', 'Requested resource not found', 400, 'not-found', false],
    ['AccessDeniedException', 'x', 400, 'access-denied', false],
    ['UnrecognizedClientException', 'x', 400, 'access-denied', false],
    ['MissingAuthenticationTokenException', 'x', 400, 'access-denied', false],
    ['InvalidSignatureException', 'x', 400, 'access-denied', false],
    ['ExpiredTokenException', 'The security token included in the request is expired', 400, 'access-denied', false],
    ['ValidationException', 'Item size has exceeded the maximum allowed size', 400, 'validation', false],
    ['SerializationException', 'x', 400, 'validation', false],
    ['ItemCollectionSizeLimitExceededException', 'Collection size exceeded', 400, 'capacity', false],
    ['InternalServerError', 'x', 500, 'unavailable', true],
    ['InternalServerError', 'x', undefined, 'unavailable', true],
    ['InternalFailure', 'The request processing has failed', 500, 'unavailable', true],
    ['ServiceUnavailable', 'The service is unavailable', 503, 'unavailable', true],
    ['ServiceUnavailableException', 'x', 503, 'unavailable', true],
    ['RequestTimeout', 'x', undefined, 'unavailable', true],
    ['RequestTimeoutException', 'x', undefined, 'unavailable', true],
    ['TimeoutError', 'x', undefined, 'unavailable', true],
    // unknown names fall back on the HTTP status
    ['SomethingNew', 'x', 502, 'unavailable', true],
    ['SomethingNew', 'x', 429, 'throttling', true],
    ['SomethingNew', 'x', 403, 'access-denied', false],
    ['SomethingNew', 'x', 404, 'not-found', false],
    ['SomethingNew', 'x', 400, 'internal', false],
    ['SomethingNew', 'x', undefined, 'internal', false],
  ])('%s (%s, HTTP %s) → %s, retryable %s', (name, message, status, code, retryable) => {
    const c = classifyAwsErrorName(name, message, status);
    expect({ code: c.code, retryable: c.retryable }).toEqual({ code, retryable });
  });

  it('classifies node socket errors as unavailable', () => {
    expect(classifyAwsErrorName('Error', 'read ECONNRESET', undefined, 'ECONNRESET').code).toBe('unavailable');
  });

  // The SDK marks errors it models as AWS-side, and unmodelled 5xx, `$fault: 'server'` (DynamoDB's classifier relied on it).
  it.each<[fault: string | undefined, status: number | undefined, code: ErrorCode]>([
    ['server', undefined, 'unavailable'],
    ['client', 400, 'internal'],
    ['client', undefined, 'internal'],
  ])('an unknown name with $fault %s (HTTP %s) → %s', (fault, status, code) => {
    expect(classifyAwsErrorName('SomethingNew', 'x', status, undefined, fault).code).toBe(code);
    expect(classifyAwsError(Object.assign(new Error('x'), { name: 'SomethingNew', $fault: fault, $metadata: { httpStatusCode: status } }), 'call').code).toBe(code);
  });

  it.each([
    ['ResourceInUseException', 'ResourceInUse'],
    ['ScalingActivityInProgressFault', 'ScalingActivityInProgress'],
    ['ValidationError', 'ValidationError'],
    ['Throttling', 'Throttling'],
  ])('normalizes %s to %s', (name, normalized) => {
    expect(normalizeErrorName(name)).toBe(normalized);
  });
});

describe('classifyAwsError', () => {
  it.each<[string, Error, ErrorCode, boolean]>([
    ['EKS ResourceInUseException', new ResourceInUseException({ message: 'update in progress', $metadata: { httpStatusCode: 409 } }), 'busy', true],
    ['EKS ResourceNotFoundException', new ResourceNotFoundException({ message: 'no node group', $metadata: {} }), 'not-found', false],
    ['EKS InvalidParameterException', new InvalidParameterException({ message: 'bad size', $metadata: {} }), 'validation', false],
    ['ASG ScalingActivityInProgressFault', new ScalingActivityInProgressFault({ message: 'busy', $metadata: {} }), 'busy', true],
    ['ASG ResourceContentionFault', new ResourceContentionFault({ message: 'contention', $metadata: {} }), 'busy', true],
    ['ASG LimitExceededFault', new LimitExceededFault({ message: 'quota', $metadata: {} }), 'capacity', false],
    ['ELB RuleNotFoundException', new RuleNotFoundException({ message: 'gone', $metadata: {} }), 'not-found', false],
    ['ELB TargetGroupNotFoundException', new TargetGroupNotFoundException({ message: 'gone', $metadata: {} }), 'not-found', false],
    ['ELB ListenerNotFoundException', new ListenerNotFoundException({ message: 'gone', $metadata: {} }), 'not-found', false],
  ])('classifies the SDK exception class %s', (_label, error, code, retryable) => {
    const classified = classifyAwsError(error, 'call');
    expect([classified.code, classified.retryable]).toEqual([code, retryable]);
    expect(classified.cause).toBe(error);
  });

  it('says which call failed on which resource, and keeps the request id', () => {
    const error = classifyAwsError(awsError('ThrottlingException', 'Rate exceeded', 400), 'EKS UpdateNodegroupConfig prod/general');
    expect(error).toBeInstanceOf(PrescaleError);
    expect(error.message).toBe('EKS UpdateNodegroupConfig prod/general failed: throttled by AWS (ThrottlingException: Rate exceeded)');
    expect(error.details).toEqual(['aws error: ThrottlingException', 'http status: 400', 'request id: req-1']);
  });

  it('reads the wire code from `Code` when the name is the generic Error', () => {
    const error = Object.assign(new Error('Rate exceeded'), { Code: 'Throttling' });
    expect(classifyAwsError(error, 'call').code).toBe('throttling');
  });

  it('passes an already classified PrescaleError through', () => {
    const original = new PrescaleError('busy', 'node group is UPDATING', { retryable: true });
    expect(classifyAwsError(original, 'call')).toBe(original);
  });

  it('handles non-Error throws', () => {
    expect(classifyAwsError('boom', 'call').message).toBe('call failed: unexpected AWS error (Error: boom)');
  });

  it('callAws classifies what the call throws and returns what it returns', async () => {
    await expect(callAws('ctx', async () => 42)).resolves.toBe(42);
    await expect(callAws('ctx', async () => Promise.reject(awsError('ValidationError', 'bad', 400)))).rejects.toMatchObject({ code: 'validation', retryable: false });
  });
});
