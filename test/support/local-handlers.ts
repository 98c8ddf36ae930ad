/** Local mode for the handler integration tests: the environment, the functions, and fresh dependencies per test. */
import type { Context } from 'aws-lambda';
import { getDependencies, resetDependencies, type Dependencies } from '../../lib/handlers/deps.ts';
import type { DynaliteHandle } from './dynalite.ts';

export type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** A function's middy handler, as Lambda would import it from functions/. */
export async function loadHandler(name: string): Promise<Handler> {
  return ((await import(`../../functions/${name}.ts`)) as { handler: Handler }).handler;
}

/** PRESCALE_BACKEND=local against `dynamo`, configs from `configDir`, Powertools quiet; `extra` adds or overrides variables. */
export function useLocalHandlerEnv(dynamo: DynaliteHandle, configDir: string, extra: Readonly<Record<string, string>> = {}): void {
  Object.assign(process.env, {
    PRESCALE_BACKEND: 'local',
    PRESCALE_CONFIG: configDir,
    PRESCALE_DYNAMODB_ENDPOINT: dynamo.endpoint,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    ...extra,
  });
}

/** A fresh table and fresh simulated clouds per test: no idempotency record or lease leaks between tests. */
export async function freshLocalDeps(dynamo: DynaliteHandle): Promise<Dependencies> {
  await resetDependencies();
  process.env.PRESCALE_TABLE = await dynamo.createTable();
  return getDependencies();
}
