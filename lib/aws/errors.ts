/**
 * Every AWS error becomes a PrescaleError here, at the adapter, so the core and
 * the handlers only ever see our codes: throttling and busy are requeued,
 * validation is a bug in our request and is never retried.
 *
 * SDK v3 names errors after the modelled exception class (`ResourceInUseException`,
 * `ScalingActivityInProgressFault`, `TargetGroupNotFoundException`), while
 * unmodelled awsQuery errors carry the wire code (`Throttling`, `ValidationError`).
 * The table therefore keys on the name with a trailing `Exception`/`Fault`
 * stripped, so both spellings of one error land on one row. A row keyed by a
 * full spelling is looked up first: it is for the one name whose meaning
 * depends on the spelling (`LimitExceededException`, below).
 *
 * This is the one table for every AWS service prescale calls, DynamoDB
 * included: lib/state/dynamodb.ts keeps only the failed condition, whose
 * meaning depends on the call, and delegates everything else here.
 */
import { PrescaleError } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';

export interface Classification {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  /** Words for the message: what happened, in the operator's terms. */
  readonly summary: string;
}

const THROTTLED: Classification = { code: 'throttling', retryable: true, summary: 'throttled by AWS' };
const BUSY: Classification = { code: 'busy', retryable: true, summary: 'resource busy with another change' };
const NOT_FOUND: Classification = { code: 'not-found', retryable: false, summary: 'resource not found' };
const DENIED: Classification = { code: 'access-denied', retryable: false, summary: 'access denied' };
const INVALID: Classification = { code: 'validation', retryable: false, summary: 'request rejected as invalid' };
const CAPACITY: Classification = { code: 'capacity', retryable: false, summary: 'capacity or quota exhausted' };
const CONFLICT: Classification = { code: 'conflict', retryable: true, summary: 'item locked by a concurrent transaction' };
const UNAVAILABLE: Classification = { code: 'unavailable', retryable: true, summary: 'AWS unavailable or timed out' };
const UNKNOWN: Classification = { code: 'internal', retryable: false, summary: 'unexpected AWS error' };

/** Keyed by the error name without its `Exception`/`Fault` suffix (see `normalizeErrorName`), or by a full name that must win over that. */
const BY_NAME: Readonly<Record<string, Classification>> = {
  // throttling
  Throttling: THROTTLED,
  TooManyRequests: THROTTLED,
  RequestLimitExceeded: THROTTLED,
  ProvisionedThroughputExceeded: THROTTLED,
  SlowDown: THROTTLED,
  RequestThrottled: THROTTLED,
  PriorRequestNotComplete: THROTTLED,
  // DynamoDB's LimitExceededException is its control-plane limit on concurrent table operations
  // (CreateTable, UpdateTable, UpdateTimeToLive…): a rate, over when they finish. The SDK's retry
  // strategy already retries it as throttling (THROTTLING_ERROR_CODES in @smithy/core lists this exact
  // name, not LimitExceededFault). Auto Scaling's and CloudWatch's LimitExceededFault (wire code
  // LimitExceeded) is a quota on resources: capacity, below. Hence a row for the full spelling.
  LimitExceededException: THROTTLED,
  // busy: the resource is mid-change; try again on the next run
  ResourceInUse: BUSY,
  ScalingActivityInProgress: BUSY,
  ResourceContention: BUSY,
  // DynamoDB: the item is part of a transaction in progress
  TransactionConflict: CONFLICT,
  // not found (for DynamoDB: the table, or an index of it)
  ResourceNotFound: NOT_FOUND,
  NoSuchEntity: NOT_FOUND,
  NotFound: NOT_FOUND,
  TargetGroupNotFound: NOT_FOUND,
  RuleNotFound: NOT_FOUND,
  ListenerNotFound: NOT_FOUND,
  LoadBalancerNotFound: NOT_FOUND,
  // access denied (including credentials that are missing, unknown or expired)
  AccessDenied: DENIED,
  UnauthorizedOperation: DENIED,
  UnrecognizedClient: DENIED,
  ExpiredToken: DENIED,
  InvalidClientTokenId: DENIED,
  MissingAuthenticationToken: DENIED,
  InvalidSignature: DENIED,
  // validation: our request is wrong; retrying cannot help
  Validation: INVALID,
  ValidationError: INVALID,
  InvalidParameter: INVALID,
  InvalidParameterValue: INVALID,
  InvalidParameterCombination: INVALID,
  MissingParameter: INVALID,
  InvalidRequest: INVALID,
  InvalidConfigurationRequest: INVALID,
  InvalidNextToken: INVALID,
  Serialization: INVALID,
  // capacity and quotas
  InsufficientInstanceCapacity: CAPACITY,
  LimitExceeded: CAPACITY,
  ServiceQuotaExceeded: CAPACITY,
  // DynamoDB: an item collection (one partition key with local secondary indexes) reached 10 GB
  ItemCollectionSizeLimitExceeded: CAPACITY,
  // AWS side
  ServiceUnavailable: UNAVAILABLE,
  InternalFailure: UNAVAILABLE,
  InternalError: UNAVAILABLE,
  InternalServerError: UNAVAILABLE,
  InternalService: UNAVAILABLE,
  Server: UNAVAILABLE,
  // timeouts (the SDK's own, the request handler's, our total time cap)
  TimeoutError: UNAVAILABLE,
  RequestTimeout: UNAVAILABLE,
  AbortError: UNAVAILABLE,
};

/** Node socket errors: the request may not have reached AWS at all. */
const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** `ResourceInUseException` → `ResourceInUse`; `ScalingActivityInProgressFault` → `ScalingActivityInProgress`. */
export function normalizeErrorName(name: string): string {
  return name.replace(/(Exception|Fault)$/, '');
}

interface AwsErrorShape {
  readonly name: string;
  readonly message: string;
  readonly httpStatusCode: number | undefined;
  readonly requestId: string | undefined;
  readonly nodeCode: string | undefined;
  /** The SDK's `$fault`: `server` for errors it models as AWS-side, or an unmodelled 5xx. */
  readonly fault: string | undefined;
}

function describeError(error: unknown): AwsErrorShape {
  if (typeof error !== 'object' || error === null) {
    return { name: 'Error', message: String(error), httpStatusCode: undefined, requestId: undefined, nodeCode: undefined, fault: undefined };
  }
  const e = error as { name?: unknown; message?: unknown; code?: unknown; Code?: unknown; $fault?: unknown; $metadata?: { httpStatusCode?: unknown; requestId?: unknown } };
  // awsQuery errors the SDK does not model keep the wire code in `Code`.
  const name = typeof e.name === 'string' && e.name !== 'Error' ? e.name : typeof e.Code === 'string' ? e.Code : 'Error';
  return {
    name,
    message: typeof e.message === 'string' ? e.message : '',
    httpStatusCode: typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined,
    requestId: typeof e.$metadata?.requestId === 'string' ? e.$metadata.requestId : undefined,
    nodeCode: typeof e.code === 'string' ? e.code : undefined,
    fault: typeof e.$fault === 'string' ? e.$fault : undefined,
  };
}

/** The decision alone, for the table test: name first, then message, then socket code, HTTP status and the SDK's fault side. */
export function classifyAwsErrorName(name: string, message: string, httpStatusCode: number | undefined, nodeCode?: string, fault?: string): Classification {
  const normalized = normalizeErrorName(name);
  // Auto Scaling reports a missing group as a generic ValidationError.
  if (normalized === 'ValidationError' && /not found/i.test(message)) return NOT_FOUND;
  const byName = BY_NAME[name] ?? BY_NAME[normalized];
  if (byName !== undefined) return byName;
  // ELBv2 quotas: TooManyTargetGroups, TooManyRules, TooManyActions… (TooManyRequests is in the table).
  if (normalized.startsWith('TooMany')) return CAPACITY;
  if (nodeCode !== undefined && NETWORK_ERROR_CODES.has(nodeCode)) return UNAVAILABLE;
  if (httpStatusCode === 429) return THROTTLED;
  if ((httpStatusCode !== undefined && httpStatusCode >= 500) || fault === 'server') return UNAVAILABLE;
  if (httpStatusCode === 403) return DENIED;
  if (httpStatusCode === 404) return NOT_FOUND;
  return UNKNOWN;
}

/**
 * `context` says what call failed on what resource, e.g.
 * `EKS UpdateNodegroupConfig prod/general`. A PrescaleError passes through unchanged
 * (it was already classified closer to the cause).
 */
export function classifyAwsError(error: unknown, context: string): PrescaleError {
  if (error instanceof PrescaleError) return error;
  const shape = describeError(error);
  const { code, retryable, summary } = classifyAwsErrorName(shape.name, shape.message, shape.httpStatusCode, shape.nodeCode, shape.fault);
  const detail = shape.message === '' ? shape.name : `${shape.name}: ${shape.message}`;
  const details = [
    `aws error: ${shape.name}`,
    ...(shape.httpStatusCode === undefined ? [] : [`http status: ${shape.httpStatusCode}`]),
    ...(shape.requestId === undefined ? [] : [`request id: ${shape.requestId}`]),
  ];
  return new PrescaleError(code, `${context} failed: ${summary} (${detail})`, { retryable, details, cause: error });
}

/** Runs one SDK call and classifies whatever it throws. */
export async function callAws<T>(context: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw classifyAwsError(error, context);
  }
}
