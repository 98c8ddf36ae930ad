/**
 * Powertools idempotency around the part of a handler that acts. The key is
 * built by the handler from the event (schedule ARN + scheduled time, alarm
 * ARN + state timestamp, request id), so a redelivered event replays the
 * stored result instead of running again. Records live in the state table
 * (see createIdempotencyStore) and expire through its TTL attribute.
 *
 * A key a person chooses (the emergency request id) can be reused by mistake
 * for another request: such a runner also keeps a hash of the payload
 * (Powertools `payloadValidationJmesPath`), and a reused key with a
 * different payload is rejected instead of answered with the first result.
 */
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import type { Context } from 'aws-lambda';
import { ValidationError } from '../errors.ts';
import type { Dependencies } from './deps.ts';
import { createIdempotencyStore } from './middleware.ts';

export interface IdempotentRunner {
  /**
   * Runs `work` once per `key`; a repeat returns the first result (JSON round-tripped).
   * With `payloadKeyName`, `payload` is what a repeat must match (a ValidationError otherwise).
   */
  run<R>(key: string, context: Context, work: () => Promise<R>, payload?: unknown): Promise<R>;
}

export interface IdempotentRunnerOptions {
  /**
   * Turns payload validation on, and names the key in the error a reused key
   * with a different payload gets (`requestId`).
   */
  readonly payloadKeyName?: string;
}

export const DEFAULT_IDEMPOTENCY_SECONDS = 3600;

/** The error for a key already used, within the records' lifetime, for another payload. */
function reusedKeyError(functionName: string, keyName: string, key: string, expiresAfterSeconds: number): ValidationError {
  const hours = Math.round((expiresAfterSeconds / 3600) * 10) / 10;
  return new ValidationError(`${functionName} request`, [
    `${keyName} "${key}" was already used in the last ${hours} h for a different request (another cluster, target or field): nothing was done; send this request with a new ${keyName}`,
  ]);
}

export function createIdempotentRunner(deps: Dependencies, functionName: string, expiresAfterSeconds = DEFAULT_IDEMPOTENCY_SECONDS, options: IdempotentRunnerOptions = {}): IdempotentRunner {
  const keyName = options.payloadKeyName;
  const config = new IdempotencyConfig({ eventKeyJmesPath: 'key', expiresAfterSeconds, throwOnNoIdempotencyKey: true, ...(keyName === undefined ? {} : { payloadValidationJmesPath: 'payload' }) });
  const once = makeIdempotent(async (_input: { key: string; payload?: unknown }, work: () => Promise<unknown>) => work(), {
    persistenceStore: createIdempotencyStore(deps, functionName),
    config,
    keyPrefix: `prescale.${functionName}`,
  });
  return {
    async run<R>(key: string, context: Context, work: () => Promise<R>, payload?: unknown): Promise<R> {
      // The in-progress lock expires with the invocation, so a timed-out run can be retried.
      config.registerLambdaContext(context);
      if (keyName === undefined) return (await once({ key }, work)) as R;
      try {
        // null, not undefined: the hash is of the JSON, and a missing payload is a payload too.
        return (await once({ key, payload: payload ?? null }, work)) as R;
      } catch (error) {
        // By name, as Powertools itself tells its errors apart.
        if (error instanceof Error && error.name === 'IdempotencyValidationError') throw reusedKeyError(functionName, keyName, key, expiresAfterSeconds);
        throw error;
      }
    },
  };
}

/** One runner per function per dependency set (a cold start, or a test's reset). */
export function memoRunner(functionName: string, expiresAfterSeconds = DEFAULT_IDEMPOTENCY_SECONDS, options: IdempotentRunnerOptions = {}): (deps: Dependencies) => IdempotentRunner {
  const runners = new WeakMap<Dependencies, IdempotentRunner>();
  return (deps) => {
    let runner = runners.get(deps);
    if (runner === undefined) {
      runner = createIdempotentRunner(deps, functionName, expiresAfterSeconds, options);
      runners.set(deps, runner);
    }
    return runner;
  };
}
