import { describe, expect, it } from 'vitest';
import { describeConflicts, parseConflicts } from '../../../lib/k8s/status.ts';

describe('parseConflicts', () => {
  it('reads the managers and fields from Status causes', () => {
    const body = {
      kind: 'Status',
      code: 409,
      reason: 'Conflict',
      message: 'Apply failed with 2 conflicts: conflict with "kubectl-edit" using autoscaling/v2: .spec.maxReplicas\n- conflict with "helm": .spec.metrics',
      details: {
        causes: [
          { reason: 'FieldManagerConflict', message: 'conflict with "kubectl-edit" using autoscaling/v2', field: '.spec.maxReplicas' },
          { reason: 'FieldManagerConflict', message: 'conflict with "helm"', field: '.spec.metrics' },
        ],
      },
    };
    expect(parseConflicts(body)).toEqual([
      { manager: 'kubectl-edit', field: '.spec.maxReplicas' },
      { manager: 'helm', field: '.spec.metrics' },
    ]);
    expect(describeConflicts(parseConflicts(body))).toBe('field .spec.maxReplicas is owned by "kubectl-edit"; field .spec.metrics is owned by "helm"');
  });

  it('falls back to the message when a server sends no causes', () => {
    expect(parseConflicts({ message: 'Apply failed with 1 conflict: conflict with "argocd-controller" using policy/v1: .spec.maxUnavailable' })).toEqual([
      { manager: 'argocd-controller', field: '.spec.maxUnavailable' },
    ]);
  });

  it('finds nothing in a non-apply conflict', () => {
    expect(parseConflicts({ message: 'Operation cannot be fulfilled: the object has been modified' })).toEqual([]);
    expect(parseConflicts(undefined)).toEqual([]);
  });
});
