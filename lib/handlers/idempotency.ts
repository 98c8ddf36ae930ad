/**
 * Powertools idempotency around the part of a handler that acts. The key is
 * built by the handler from the event (schedule ARN + scheduled time, alarm
 * ARN + state timestamp, request id), so a redelivered event replays the
 * stored result instead of running again. Records live in the state table
 * (see createIdempotencyStore) and expire through its TTL attribute.
 */
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import type { Context } from 'aws-lambda';
import type { Dependencies } from './deps.ts';
import { createIdempotencyStore } from './middleware.ts';

export interface IdempotentRunner {
  /** Runs `work` once per `key`; a repeat returns the first result (JSON round-tripped). */
  run<R>(key: string, context: Context, work: () => Promise<R>): Promise<R>;
}

export const DEFAULT_IDEMPOTENCY_SECONDS = 3600;

export function createIdempotentRunner(deps: Dependencies, functionName: string, expiresAfterSeconds = DEFAULT_IDEMPOTENCY_SECONDS): IdempotentRunner {
  const config = new IdempotencyConfig({ eventKeyJmesPath: 'key', expiresAfterSeconds, throwOnNoIdempotencyKey: true });
  const once = makeIdempotent(async (_input: { key: string }, work: () => Promise<unknown>) => work(), {
    persistenceStore: createIdempotencyStore(deps, functionName),
    config,
    keyPrefix: `prescale.${functionName}`,
  });
  return {
    async run<R>(key: string, context: Context, work: () => Promise<R>): Promise<R> {
      // The in-progress lock expires with the invocation, so a timed-out run can be retried.
      config.registerLambdaContext(context);
      return (await once({ key }, work)) as R;
    },
  };
}

/** One runner per function per dependency set (a cold start, or a test's reset). */
export function memoRunner(functionName: string, expiresAfterSeconds = DEFAULT_IDEMPOTENCY_SECONDS): (deps: Dependencies) => IdempotentRunner {
  const runners = new WeakMap<Dependencies, IdempotentRunner>();
  return (deps) => {
    let runner = runners.get(deps);
    if (runner === undefined) {
      runner = createIdempotentRunner(deps, functionName, expiresAfterSeconds);
      runners.set(deps, runner);
    }
    return runner;
  };
}
