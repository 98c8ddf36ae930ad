/**
 * The in-memory StateStore: the same contract as the DynamoDB store (the
 * decisions live in rules.ts and one contract suite runs against both), built
 * for backtests that replay months of minutes — every call is O(1) except the
 * log reads (O(log n + limit)).
 *
 * Differences from DynamoDB, by design:
 * - Decision and audit logs are bounded ring buffers per cluster: the newest
 *   `logCapacity` entries by time (default 10 000) are kept, older ones are
 *   dropped instead of expiring after their retention period.
 * - Values are stored by reference, not serialised: callers get back the
 *   objects they wrote (the types are readonly; do not cast that away).
 *   Cooldowns and pending plans are copied field by field (O(1)) so extra
 *   properties never leak, exactly as with DynamoDB.
 * - Every method is atomic: none awaits inside its read-check-write, so
 *   concurrent calls (Promise.all) serialise the way conditional writes do.
 */
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
import {
  applyTransition,
  canAcquireLease,
  checkTransition,
  firstIncludedMs,
  isCurrentLease,
  isFencedWriteAllowed,
  isPlanPurged,
  leaseHeldError,
  normalizePlan,
  planExistsError,
  requireCooldown,
  requireFiniteMs,
  requireLease,
  requireLeaseRequest,
  requireLimit,
  requireLogEntry,
  requireName,
  requirePlan,
  requireTransition,
  staleError,
  transitionError,
  viewPlan,
  type LeaseRow,
} from './rules.ts';

/** How many decision (and, separately, audit) entries per cluster the memory store keeps. */
export const DEFAULT_LOG_CAPACITY = 10_000;

export interface MemoryStateStoreOptions {
  /** Newest entries kept per cluster and log; older ones are dropped. */
  readonly logCapacity?: number;
}

interface Fenced<T> {
  readonly fencingToken: number;
  readonly value: T;
}

/**
 * Entries sorted by `atMs`, ties in insertion order, trimmed to the newest `capacity`.
 * Appends in time order (what a clock produces) are amortised O(1): the front is a moving
 * `head` index, compacted once the dead prefix is as long as the capacity.
 */
export class TimeOrderedLog<T extends { readonly atMs: number }> {
  private entries: T[] = [];
  private head = 0;

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.entries.length - this.head;
  }

  append(entry: T): void {
    const last = this.entries[this.entries.length - 1];
    if (last === undefined || last.atMs <= entry.atMs) {
      this.entries.push(entry);
    } else {
      // Out of order (rare): after every entry with the same or an earlier time.
      this.entries.splice(this.firstIndexAfter(entry.atMs, (e, t) => e.atMs <= t), 0, entry);
    }
    if (this.size > this.capacity) this.head += 1;
    if (this.head >= this.capacity) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /** Entries with `atMs >= fromMs`, oldest first, at most `limit`. */
  list(fromMs: number, limit: number): T[] {
    const start = this.firstIndexAfter(fromMs, (e, t) => e.atMs < t);
    return this.entries.slice(start, start + limit);
  }

  /** Binary search in [head, length): the first index whose entry is not `before(entry, t)`. */
  private firstIndexAfter(t: number, before: (entry: T, t: number) => boolean): number {
    let lo = this.head;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(this.entries[mid]!, t)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function nested<V>(outer: Map<string, Map<string, V>>, key: string): Map<string, V> {
  let inner = outer.get(key);
  if (inner === undefined) {
    inner = new Map();
    outer.set(key, inner);
  }
  return inner;
}

export function createMemoryStateStore(options: MemoryStateStoreOptions = {}): StateStore {
  const logCapacity = options.logCapacity ?? DEFAULT_LOG_CAPACITY;
  if (!Number.isSafeInteger(logCapacity) || logCapacity < 1) throw new RangeError(`logCapacity must be a positive integer, got ${logCapacity}`);

  const leases = new Map<string, LeaseRow>();
  const cooldowns = new Map<string, Map<string, Fenced<CooldownState>>>();
  const plannerMemories = new Map<string, Fenced<PlannerMemory>>();
  const forecastCaches = new Map<string, Map<string, ForecastCacheEntry>>();
  const decisions = new Map<string, TimeOrderedLog<DecisionRecord>>();
  const audits = new Map<string, TimeOrderedLog<AuditEntry>>();
  const plans = new Map<string, PendingPlan>();

  function logFor<T extends { readonly atMs: number }>(logs: Map<string, TimeOrderedLog<T>>, cluster: string): TimeOrderedLog<T> {
    let log = logs.get(cluster);
    if (log === undefined) {
      log = new TimeOrderedLog<T>(logCapacity);
      logs.set(cluster, log);
    }
    return log;
  }

  function listLog<T extends { readonly atMs: number }>(logs: Map<string, TimeOrderedLog<T>>, cluster: string, sinceMs: number, limit: number): T[] {
    requireName('cluster', cluster);
    requireLimit(limit);
    const fromMs = firstIncludedMs(sinceMs);
    if (limit === 0 || fromMs === undefined) return [];
    return logs.get(cluster)?.list(fromMs, limit) ?? [];
  }

  return {
    async acquireLease(cluster: string, owner: string, nowMs: number, ttlMs: number): Promise<Lease> {
      requireLeaseRequest(cluster, owner, nowMs, ttlMs);
      const current = leases.get(cluster);
      if (!canAcquireLease(current, owner, nowMs)) throw leaseHeldError(cluster);
      const row: LeaseRow = { owner, fencingToken: (current?.fencingToken ?? 0) + 1, expiresAtMs: nowMs + ttlMs };
      leases.set(cluster, row);
      return { cluster, owner, fencingToken: row.fencingToken, expiresAtMs: row.expiresAtMs };
    },

    async releaseLease(lease: Lease): Promise<void> {
      const current = leases.get(lease.cluster);
      // The token stays: the next acquisition must still get a larger one.
      if (current !== undefined && isCurrentLease(current, lease)) leases.set(lease.cluster, { owner: undefined, fencingToken: current.fencingToken, expiresAtMs: 0 });
    },

    async getCooldown(cluster: string, target: string): Promise<CooldownState> {
      return cooldowns.get(cluster)?.get(target)?.value ?? { lastScaleOutMs: undefined, lastScaleInMs: undefined };
    },

    async putCooldown(lease: Lease, target: string, cooldown: CooldownState): Promise<void> {
      requireLease(lease);
      requireName('cooldown target', target);
      requireCooldown(cooldown);
      const byTarget = nested(cooldowns, lease.cluster);
      if (!isFencedWriteAllowed(byTarget.get(target)?.fencingToken, lease.fencingToken)) throw staleError(lease.cluster, `cooldown ${target}`, lease.fencingToken);
      byTarget.set(target, { fencingToken: lease.fencingToken, value: { lastScaleOutMs: cooldown.lastScaleOutMs, lastScaleInMs: cooldown.lastScaleInMs } });
    },

    async getPlannerMemory(cluster: string): Promise<PlannerMemory | undefined> {
      return plannerMemories.get(cluster)?.value;
    },

    async putPlannerMemory(lease: Lease, memory: PlannerMemory): Promise<void> {
      requireLease(lease);
      if (!isFencedWriteAllowed(plannerMemories.get(lease.cluster)?.fencingToken, lease.fencingToken)) throw staleError(lease.cluster, 'planner memory', lease.fencingToken);
      plannerMemories.set(lease.cluster, { fencingToken: lease.fencingToken, value: memory });
    },

    async getForecastCache(cluster: string, key: string): Promise<ForecastCacheEntry | undefined> {
      return forecastCaches.get(cluster)?.get(key);
    },

    async putForecastCache(cluster: string, key: string, entry: ForecastCacheEntry): Promise<void> {
      requireName('cluster', cluster);
      requireName('forecast cache key', key);
      nested(forecastCaches, cluster).set(key, entry);
    },

    async appendDecision(record: DecisionRecord): Promise<void> {
      requireLogEntry('decision', record);
      logFor(decisions, record.cluster).append(record);
    },

    async listDecisions(cluster: string, sinceMs: number, limit: number): Promise<DecisionRecord[]> {
      return listLog(decisions, cluster, sinceMs, limit);
    },

    async appendAudit(entry: AuditEntry): Promise<void> {
      requireLogEntry('audit', entry);
      logFor(audits, entry.cluster).append(entry);
    },

    async listAudit(cluster: string, sinceMs: number, limit: number): Promise<AuditEntry[]> {
      return listLog(audits, cluster, sinceMs, limit);
    },

    async putPendingPlan(plan: PendingPlan): Promise<void> {
      requirePlan(plan);
      const existing = plans.get(plan.id);
      // A plan past its retention is gone (DynamoDB may have deleted it): its id can be reused.
      if (existing !== undefined && !isPlanPurged(existing, plan.createdAtMs)) throw planExistsError(plan.id);
      plans.set(plan.id, normalizePlan(plan));
    },

    async getPendingPlan(id: string, nowMs: number): Promise<PendingPlan | undefined> {
      requireFiniteMs('nowMs', nowMs);
      return viewPlan(plans.get(id), nowMs);
    },

    async decidePendingPlan(id: string, from: PendingPlanStatus, to: PendingPlanStatus, by: string, nowMs: number): Promise<PendingPlan> {
      requireTransition(from, to);
      requireName('decided by', by);
      requireFiniteMs('nowMs', nowMs);
      const stored = plans.get(id);
      const check = checkTransition(stored, from, nowMs);
      if (check !== 'ok' || stored === undefined) throw transitionError(check === 'ok' ? 'not-found' : check, id, from, to);
      const next = applyTransition(stored, to, by, nowMs);
      plans.set(id, next);
      return next;
    },
  };
}
