/**
 * The state store's decisions, shared by the in-memory and the DynamoDB
 * implementation so both answer every question the same way. Pure: time is a
 * parameter, nothing here does I/O.
 */
import { PrescaleError } from '../errors.ts';
import type { Lease, PendingPlan, PendingPlanStatus } from '../ports.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Decision log entries are kept this long (DynamoDB TTL; the memory store keeps a ring buffer instead). */
export const DECISION_RETENTION_MS = 90 * DAY_MS;
/** Audit entries are kept longer than decisions: a year and a bit covers an annual review. */
export const AUDIT_RETENTION_MS = 400 * DAY_MS;
/**
 * A pending plan stays readable (as `expired`, or in its decided state) this long after `expiresAtMs`,
 * so a late Slack click gets "expired" rather than "unknown plan". After that it reads as absent.
 */
export const PENDING_PLAN_RETENTION_MS = 30 * DAY_MS;

/** Sort keys carry the time as 16 zero-padded digits: every epoch ms up to year 318857 sorts as a string. */
const TIME_DIGITS = 16;
const MAX_SORTABLE_MS = 10 ** TIME_DIGITS - 1;

// ---------------------------------------------------------------- validation

function invalid(message: string): PrescaleError {
  return new PrescaleError('validation', message);
}

export function requireName(what: string, value: string): void {
  if (typeof value !== 'string' || value.length === 0) throw invalid(`${what} must be a non-empty string`);
}

/** Epoch ms that go into a sort key: a non-negative integer that fits the padded width. */
function requireEpochMs(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > MAX_SORTABLE_MS) {
    throw invalid(`${what} must be an integer epoch in milliseconds in [0, ${MAX_SORTABLE_MS}], got ${value}`);
  }
}

export function requireFiniteMs(what: string, value: number): void {
  if (!Number.isFinite(value)) throw invalid(`${what} must be a finite number of milliseconds, got ${value}`);
}

function requireLeaseTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw invalid(`lease ttlMs must be a positive finite number, got ${ttlMs}`);
}

/** `0` means "nothing"; a negative or fractional limit is a caller bug. */
export function requireLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 0) throw invalid(`limit must be a non-negative integer, got ${limit}`);
}

// ---------------------------------------------------------------- lease

/** Expiry is inclusive: a lease with `expiresAtMs === nowMs` is already free. */
function isExpired(expiresAtMs: number, nowMs: number): boolean {
  return expiresAtMs <= nowMs;
}

/** The stored lease row. `owner` is undefined after a release; the token survives releases so it never goes back. */
export interface LeaseRow {
  readonly owner: string | undefined;
  readonly fencingToken: number;
  readonly expiresAtMs: number;
}

/** Acquisition succeeds if nobody holds the lease, it expired, or the same owner renews. */
export function canAcquireLease(current: LeaseRow | undefined, owner: string, nowMs: number): boolean {
  if (current === undefined || current.owner === undefined) return true;
  return isExpired(current.expiresAtMs, nowMs) || current.owner === owner;
}

/** Release applies only to the lease as it was handed out: same owner and same token. */
export function isCurrentLease(current: LeaseRow | undefined, lease: Lease): boolean {
  return current !== undefined && current.owner === lease.owner && current.fencingToken === lease.fencingToken;
}

/** Fenced items accept writes from the token that last wrote them or a newer one. */
export function isFencedWriteAllowed(storedToken: number | undefined, writerToken: number): boolean {
  return storedToken === undefined || storedToken <= writerToken;
}

export function leaseHeldError(cluster: string): PrescaleError {
  return new PrescaleError('lease-held', `the lease for cluster ${cluster} is held by another owner`, { retryable: true });
}

export function staleError(cluster: string, what: string, token: number): PrescaleError {
  return new PrescaleError('stale', `${what} for cluster ${cluster}: fencing token ${token} is older than the one that last wrote it`);
}

// ---------------------------------------------------------------- pending plans

/** The only transitions decidePendingPlan accepts; everything else is a caller bug. */
const ALLOWED_TRANSITIONS: Readonly<Record<PendingPlanStatus, readonly PendingPlanStatus[]>> = {
  pending: ['approved', 'rejected', 'superseded'],
  approved: ['executed'],
  rejected: [],
  expired: [],
  executed: [],
  superseded: [],
};

export function requireTransition(from: PendingPlanStatus, to: PendingPlanStatus): void {
  if (!(ALLOWED_TRANSITIONS[from] ?? []).includes(to)) throw invalid(`pending plan transition ${from} → ${to} is not allowed`);
}

/** After this instant the plan reads as absent (DynamoDB TTL may have deleted it, so both stores pretend it did). */
export function planPurgeAtMs(expiresAtMs: number): number {
  return expiresAtMs + PENDING_PLAN_RETENTION_MS;
}

export function isPlanPurged(plan: Pick<PendingPlan, 'expiresAtMs'>, nowMs: number): boolean {
  return isExpired(planPurgeAtMs(plan.expiresAtMs), nowMs);
}

/**
 * How a stored plan reads at `nowMs`: absent once purged; a pending plan past its expiry is `expired`;
 * decided plans keep their status.
 */
export function viewPlan(stored: PendingPlan | undefined, nowMs: number): PendingPlan | undefined {
  if (stored === undefined || isPlanPurged(stored, nowMs)) return undefined;
  if (stored.status === 'pending' && isExpired(stored.expiresAtMs, nowMs)) return { ...stored, status: 'expired' };
  return stored;
}

export type TransitionCheck = 'ok' | 'not-found' | 'conflict' | 'stale';

/**
 * Why a transition can or cannot happen, in the order the contract states it: an unknown plan is
 * not-found; a plan no longer in `from` is a conflict (someone decided first); a plan leaving `pending`
 * after its expiry is stale.
 */
export function checkTransition(stored: PendingPlan | undefined, from: PendingPlanStatus, nowMs: number): TransitionCheck {
  if (stored === undefined || isPlanPurged(stored, nowMs)) return 'not-found';
  if (stored.status !== from) return 'conflict';
  if (from === 'pending' && isExpired(stored.expiresAtMs, nowMs)) return 'stale';
  return 'ok';
}

/**
 * The plan after the transition. Leaving `pending` records who decided and when; `approved → executed`
 * keeps the approver (the interface has no executedBy field, and "who approved it" is the question
 * an operator asks; the execution itself is in the audit log).
 */
export function applyTransition(stored: PendingPlan, to: PendingPlanStatus, by: string, nowMs: number): PendingPlan {
  if (stored.status === 'pending') return { ...stored, status: to, decidedBy: by, decidedAtMs: nowMs };
  return { ...stored, status: to };
}

export function transitionError(check: Exclude<TransitionCheck, 'ok'>, id: string, from: PendingPlanStatus, to: PendingPlanStatus): PrescaleError {
  switch (check) {
    case 'not-found':
      return new PrescaleError('not-found', `pending plan ${id} does not exist`);
    case 'conflict':
      return new PrescaleError('conflict', `pending plan ${id} is no longer ${from}: cannot move it to ${to}`);
    case 'stale':
      return new PrescaleError('stale', `pending plan ${id} expired before it could move to ${to}`);
  }
}

export function planExistsError(id: string): PrescaleError {
  return new PrescaleError('conflict', `pending plan ${id} already exists`);
}

// ---------------------------------------------------------------- logs

/** Zero-padded so string order is time order. */
export function sortableMs(ms: number): string {
  return String(ms).padStart(TIME_DIGITS, '0');
}

/**
 * The first entry time a `since` query includes (entries carry integer ms, so a fractional `since`
 * rounds up), or undefined when no storable entry can match.
 */
export function firstIncludedMs(sinceMs: number): number | undefined {
  if (Number.isNaN(sinceMs)) throw invalid('sinceMs must be a number, got NaN');
  if (sinceMs <= 0) return 0;
  const first = Math.ceil(sinceMs);
  return first > MAX_SORTABLE_MS ? undefined : first;
}

export function expiryEpochSeconds(expiresAtMs: number): number {
  // Rounded up: DynamoDB must never delete an item before the store itself considers it gone.
  return Math.ceil(expiresAtMs / 1000);
}

// ---------------------------------------------------------------- shapes

/** The plan's declared fields only: both stores keep exactly these, so both read back the same object. */
export function normalizePlan(plan: PendingPlan): PendingPlan {
  return {
    id: plan.id,
    cluster: plan.cluster,
    createdAtMs: plan.createdAtMs,
    expiresAtMs: plan.expiresAtMs,
    stateHash: plan.stateHash,
    commands: plan.commands,
    status: plan.status,
    decidedBy: plan.decidedBy,
    decidedAtMs: plan.decidedAtMs,
  };
}

export function requirePlan(plan: PendingPlan): void {
  requireName('plan id', plan.id);
  requireName('plan cluster', plan.cluster);
  requireFiniteMs('plan createdAtMs', plan.createdAtMs);
  requireFiniteMs('plan expiresAtMs', plan.expiresAtMs);
}

/** A decision or audit entry: its time goes into a sort key. */
export function requireLogEntry(log: 'decision' | 'audit', entry: { readonly cluster: string; readonly atMs: number }): void {
  requireName('cluster', entry.cluster);
  requireEpochMs(`${log} atMs`, entry.atMs);
}

export function requireCooldown(cooldown: { readonly lastScaleOutMs: number | undefined; readonly lastScaleInMs: number | undefined }): void {
  if (cooldown.lastScaleOutMs !== undefined) requireFiniteMs('lastScaleOutMs', cooldown.lastScaleOutMs);
  if (cooldown.lastScaleInMs !== undefined) requireFiniteMs('lastScaleInMs', cooldown.lastScaleInMs);
}

export function requireLeaseRequest(cluster: string, owner: string, nowMs: number, ttlMs: number): void {
  requireName('cluster', cluster);
  requireName('lease owner', owner);
  requireFiniteMs('nowMs', nowMs);
  requireLeaseTtl(ttlMs);
}

/** A lease handed to a fenced write: the token must be one the store could have issued. */
export function requireLease(lease: Lease): void {
  requireName('lease cluster', lease.cluster);
  if (!Number.isSafeInteger(lease.fencingToken) || lease.fencingToken < 1) {
    throw invalid(`lease fencingToken must be a positive integer, got ${lease.fencingToken}`);
  }
}
