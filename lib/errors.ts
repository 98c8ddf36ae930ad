/**
 * One error base for the whole project. `code` is stable (tests and alarms key
 * on it); `retryable` tells a caller whether trying again can help. Validation
 * errors are never retryable.
 */
export type ErrorCode =
  | 'validation'
  | 'config'
  | 'throttling'
  | 'busy'
  | 'not-found'
  | 'access-denied'
  | 'capacity'
  | 'conflict'
  | 'lease-held'
  | 'stale'
  | 'unavailable'
  | 'internal';

export class PrescaleError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: readonly string[];

  constructor(code: ErrorCode, message: string, options: { retryable?: boolean; details?: readonly string[]; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PrescaleError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details ?? [];
  }
}

/** A config or event that fails validation: every problem, each with its path and rule. */
export class ValidationError extends PrescaleError {
  constructor(what: string, problems: readonly string[]) {
    super('validation', `${what} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`, { details: problems });
    this.name = 'ValidationError';
  }
}

export function isPrescaleError(error: unknown): error is PrescaleError {
  return error instanceof PrescaleError;
}

/** What an error says, whatever was thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An error as a run reports it: a PrescaleError with its code (`throttling: Rate exceeded`), anything else by its message. */
export function reportedError(error: unknown): string {
  return isPrescaleError(error) ? `${error.code}: ${error.message}` : errorMessage(error);
}

/** The value of a settled read, or its error thrown: one failed read of a batch fails as a single read would. */
export function settledOrThrow<T>(result: PromiseSettledResult<T>): T {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}
