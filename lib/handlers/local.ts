/**
 * Local mode (`PRESCALE_BACKEND=local`): every handler runs against the
 * simulated cloud of lib/sim and the real DynamoDB code path on an embedded
 * dynalite, offline, with fake credentials. This is what
 * `serverless invoke local` and the handler tests run.
 *
 * The simulated clock starts at LOCAL_EPOCH_MS (the time of the sample events)
 * and only moves forward, to an event's own time when it carries one, so runs
 * are reproducible. Demand is a synthetic daily wave per service, derived from
 * its HPA bounds, covering the forecast history the pipeline reads.
 */
import type { Server } from 'node:http';
import type { PrescaleConfig, ServiceConfig } from '../config/schema.ts';
import type { TargetGroupWeight } from '../core/commands.ts';
import { PrescaleError } from '../errors.ts';
import type { RuleState, TargetGroupHealth, TrafficActuator } from '../ports.ts';
import { createSimCloud, type SimCloud } from '../sim/cloud.ts';
import type { ClusterQueue } from './fanout.ts';
import type { ClusterMessage } from './schemas.ts';

const MINUTE_MS = 60_000;
const DAY_MINUTES = 1440;
/** 2026-11-02T14:00:00Z, a Monday afternoon: the `time` of the sample events in events/. */
export const LOCAL_EPOCH_MS = Date.UTC(2026, 10, 2, 14, 0, 0);
/** Days of synthetic demand after the epoch, so later event times still find data. */
const FUTURE_DAYS = 2;

/**
 * A daily wave between the HPA floor's demand and 60 % of its ceiling's,
 * lowest at 04:00 UTC: demand = perPod × (min + (0.6·max − min) × (1 − cos(2π(m − 240)/1440)) / 2).
 */
export function syntheticDemand(service: ServiceConfig, minutes: number, firstMinuteOfDay: number): Float64Array {
  const low = service.hpa.minReplicas * service.demand.perPod;
  const high = Math.max(low, 0.6 * service.hpa.maxReplicas * service.demand.perPod);
  const perMinute = new Float64Array(minutes);
  for (let m = 0; m < minutes; m++) {
    const minuteOfDay = (firstMinuteOfDay + m) % DAY_MINUTES;
    const wave = (1 - Math.cos((2 * Math.PI * (minuteOfDay - 240)) / DAY_MINUTES)) / 2;
    // Per-minute demand; a metric with a longer period sums (or averages) minutes, as ReplayMetrics does.
    perMinute[m] = Math.round(low + (high - low) * wave);
  }
  return perMinute;
}

export function createLocalCloud(config: PrescaleConfig, nowMs: number): SimCloud {
  const t0Ms = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS - config.policy.historyDays * DAY_MINUTES * MINUTE_MS;
  const cloud = createSimCloud(config, t0Ms, {});
  const minutes = (config.policy.historyDays + FUTURE_DAYS) * DAY_MINUTES;
  const firstMinuteOfDay = Math.floor((t0Ms % (DAY_MINUTES * MINUTE_MS)) / MINUTE_MS);
  for (const service of config.services) cloud.metrics.add(service.demand.metric, syntheticDemand(service, minutes, firstMinuteOfDay));
  cloud.clock.set(nowMs);
  return cloud;
}

/** ALB rules in memory: every target group starts healthy with its share of 100 points. */
export class LocalTraffic implements TrafficActuator {
  readonly rules = new Map<string, TargetGroupWeight[]>();
  readonly health = new Map<string, TargetGroupHealth['counts']>();
  readonly calls: { listenerArn: string; ruleArn: string | undefined; weights: TargetGroupWeight[] }[] = [];

  constructor(config: PrescaleConfig) {
    for (const rule of config.albRules) {
      const share = Math.floor(100 / rule.targetGroups.length);
      this.rules.set(LocalTraffic.key(rule.listenerArn, rule.ruleArn), rule.targetGroups.map((tg) => ({ targetGroupArn: tg.arn, weight: share })));
      for (const tg of rule.targetGroups) this.health.set(tg.arn, { initial: 0, healthy: 3, unhealthy: 0, unused: 0, draining: 0, unavailable: 0 });
    }
  }

  static key(listenerArn: string, ruleArn: string | undefined): string {
    return `${listenerArn}|${ruleArn ?? 'default'}`;
  }

  async describeRule(listenerArn: string, ruleArn: string | undefined): Promise<RuleState> {
    const weights = this.rules.get(LocalTraffic.key(listenerArn, ruleArn));
    if (weights === undefined) throw new PrescaleError('not-found', `rule ${ruleArn ?? `default of ${listenerArn}`} not found`);
    return { listenerArn, ruleArn, weights: [...weights], managedByController: false };
  }

  async describeTargetHealth(targetGroupArn: string): Promise<TargetGroupHealth> {
    const counts = this.health.get(targetGroupArn);
    if (counts === undefined) throw new PrescaleError('not-found', `target group ${targetGroupArn} not found`);
    return { targetGroupArn, counts };
  }

  async setWeights(listenerArn: string, ruleArn: string | undefined, weights: readonly TargetGroupWeight[]): Promise<void> {
    const key = LocalTraffic.key(listenerArn, ruleArn);
    if (!this.rules.has(key)) throw new PrescaleError('not-found', `rule ${ruleArn ?? `default of ${listenerArn}`} not found`);
    this.rules.set(key, [...weights]);
    this.calls.push({ listenerArn, ruleArn, weights: [...weights] });
  }
}

/** The fan-out queue of local mode: messages are kept for inspection (run the worker with events/worker.json to process one). */
export class LocalQueue implements ClusterQueue {
  readonly sent: ClusterMessage[] = [];
  async send(messages: readonly ClusterMessage[]): Promise<void> {
    this.sent.push(...messages);
  }
}

interface DynaliteServer {
  listen(port: number, host: string, callback: (error?: Error) => void): void;
  close(callback: (error?: Error) => void): void;
  address(): ReturnType<Server['address']>;
  unref?(): void;
}

/**
 * Starts dynalite on loopback, in memory. It is loaded by a computed name so
 * esbuild leaves it out of the Lambda bundles (a dev dependency, used only here).
 */
export async function startEmbeddedDynamo(): Promise<{ endpoint: string; close: () => Promise<void> }> {
  const moduleName = 'dynalite';
  let factory: (options: Record<string, unknown>) => DynaliteServer;
  try {
    factory = ((await import(moduleName)) as { default: typeof factory }).default;
  } catch (error) {
    throw new PrescaleError('unavailable', 'local mode needs the dev dependency dynalite (run `npm install` in the project)', { cause: error });
  }
  const server = factory({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => server.listen(0, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
  // The embedded store must not keep `serverless invoke local` alive after the handler returns.
  server.unref?.();
  const address = server.address();
  if (address === null || typeof address === 'string') throw new PrescaleError('internal', 'dynalite did not report a TCP address');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}
