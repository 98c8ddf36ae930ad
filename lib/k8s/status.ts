/**
 * Reading the API server's `Status` bodies. A server-side-apply conflict
 * (409) lists each contested field with the manager that owns it in
 * `details.causes`: `{ reason: "FieldManagerConflict", message: "conflict with
 * \"kubectl-edit\" using autoscaling/v2", field: ".spec.minReplicas" }`.
 */
import { compareStrings } from '../core/canonical.ts';

export interface FieldConflict {
  /** The field manager that owns the field, e.g. `kubectl-edit`, `helm`, `prescale-floor`. */
  readonly manager: string;
  /** JSON path as the server writes it, e.g. `.spec.minReplicas`. */
  readonly field: string;
}

interface StatusCause {
  readonly reason?: unknown;
  readonly message?: unknown;
  readonly field?: unknown;
}

const MANAGER_PATTERN = /conflict with "([^"]+)"/;

export function parseConflicts(body: unknown): FieldConflict[] {
  const causes = (body as { details?: { causes?: unknown } } | undefined)?.details?.causes;
  const fromCauses = (Array.isArray(causes) ? (causes as StatusCause[]) : [])
    .filter((c) => c.reason === 'FieldManagerConflict' || (typeof c.message === 'string' && MANAGER_PATTERN.test(c.message)))
    .map((c) => ({ manager: (typeof c.message === 'string' ? MANAGER_PATTERN.exec(c.message)?.[1] : undefined) ?? 'unknown manager', field: typeof c.field === 'string' ? c.field : '(unknown field)' }));
  if (fromCauses.length > 0) return sortConflicts(fromCauses);
  // Older servers put everything in the message: `Apply failed with 1 conflict: conflict with "x" using v1: .spec.f`.
  const message = (body as { message?: unknown } | undefined)?.message;
  if (typeof message !== 'string') return [];
  const fromMessage = [...message.matchAll(/conflict with "([^"]+)"(?: using [^:]+)?: (\.[^\s,]+)/g)].map((m) => ({ manager: m[1] ?? 'unknown manager', field: m[2] ?? '(unknown field)' }));
  return sortConflicts(fromMessage);
}

function sortConflicts(conflicts: FieldConflict[]): FieldConflict[] {
  return conflicts.sort((a, b) => compareStrings(a.field, b.field) || compareStrings(a.manager, b.manager));
}

/** `field .spec.minReplicas is owned by "kubectl-edit"; field … ` */
export function describeConflicts(conflicts: readonly FieldConflict[]): string {
  return conflicts.map((c) => `field ${c.field} is owned by "${c.manager}"`).join('; ');
}
