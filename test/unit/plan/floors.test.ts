/** Which HPA floors prescale holds, and what it remembers of them after a run (lib/core/plan/floors.ts). */
import { describe, expect, it } from 'vitest';
import type { GuardedCommand, SetHpaFloorCommand } from '../../../lib/core/commands.ts';
import { floorIntents, floorMemoryAfter, heldFloor, observedFloors, observedRaisedOver } from '../../../lib/core/plan/floors.ts';
import type { AuditEntry, HpaState } from '../../../lib/ports.ts';

const hpa = (name: string, minReplicas: number): HpaState => ({ namespace: 'prod', name, minReplicas, maxReplicas: 80, currentReplicas: minReplicas, desiredReplicas: minReplicas });
const floor = (service: string, fromMinReplicas: number, toMinReplicas: number): SetHpaFloorCommand => ({ kind: 'set-hpa-floor', cluster: 'test', namespace: 'prod', service, fromMinReplicas, toMinReplicas, reason: 'test' });
const allowed = (command: SetHpaFloorCommand): GuardedCommand => ({ command, verdict: 'allow', effective: command, reason: 'within bounds' });
const outcome = (guarded: GuardedCommand, result: AuditEntry['result']) => ({ guarded, result });

describe('heldFloor', () => {
  it.each<[string, number, unknown, unknown, number | undefined]>([
    // live 15 = the 15 prescale set → held
    ['the value prescale set', 15, 15, undefined, 15],
    // live 40 ≠ 15: an operator moved it → theirs
    ['a value someone else set', 40, 15, undefined, undefined],
    // nothing remembered → theirs
    ['nothing remembered', 6, undefined, undefined, undefined],
    // memory lost after act, the intent 15 was saved first: live 15 = intent → held
    ['the value a run meant to set', 15, 3, 15, 15],
    // the call never landed: live 3 = remembered 3 → held at 3
    ['the value before an intent that never landed', 3, 3, 15, 3],
    // a restored floor (the configured 3) stays held, so a lowered configuration reaches it
    ['a restored floor', 3, 3, undefined, 3],
    // memory is data read back from a store
    ['a remembered value that is not a whole number', 15, '15', 15.5, undefined],
  ])('%s', (_name, live, remembered, intent, expected) => {
    expect(heldFloor(live, remembered, intent)).toBe(expected);
  });
});

describe('observedFloors', () => {
  it('keeps what the cluster shows prescale holds, drops what someone else moved, keeps what it did not observe', () => {
    const memory = { raisedFloors: { 'prod/a': 15, 'prod/b': 15, 'prod/c': 3, 'prod/gone': 7 }, floorIntents: { 'prod/c': 9, 'prod/d': 4 } };
    // a: live 15 = remembered → 15; b: live 40 (an operator) → dropped; c: live 9 = its intent → 9;
    // d: live 4 = its intent, nothing remembered → 4; gone: not observed → kept at 7; e: never set → absent
    expect(observedFloors(memory, [hpa('a', 15), hpa('b', 40), hpa('c', 9), hpa('d', 4), hpa('e', 2)])).toStrictEqual({ 'prod/a': 15, 'prod/c': 9, 'prod/d': 4, 'prod/gone': 7 });
  });
});

describe('floorMemoryAfter', () => {
  const held = { 'prod/api': 15 };
  it.each<[string, AuditEntry['result'], GuardedCommand, Record<string, unknown>]>([
    // restore 15 → 1 applied: held at 1 (still prescale's, so a lowered configuration reaches it)
    ['an applied restore holds the configured value', 'applied', allowed(floor('api', 15, 1)), { raisedFloors: { 'prod/api': 1 }, floorsRaisedOver: {} }],
    // restore refused (an SSA conflict): still 15, and 1 kept as the intent in case it landed
    ['a failed restore keeps the raised floor', 'failed', allowed(floor('api', 15, 1)), { raisedFloors: { 'prod/api': 15 }, floorIntents: { 'prod/api': 1 }, floorsRaisedOver: {} }],
    ['a requeued change keeps its intent', 'requeued', allowed(floor('api', 15, 20)), { raisedFloors: { 'prod/api': 15 }, floorIntents: { 'prod/api': 20 }, floorsRaisedOver: {} }],
    // a raise of another service that failed: nothing held for it, only the intent
    ['a failed raise is not held', 'failed', allowed(floor('web', 1, 15)), { raisedFloors: { 'prod/api': 15 }, floorIntents: { 'prod/web': 15 }, floorsRaisedOver: {} }],
    ['an applied raise is held', 'applied', allowed(floor('web', 1, 15)), { raisedFloors: { 'prod/api': 15, 'prod/web': 15 }, floorsRaisedOver: {} }],
    // never sent: changes nothing
    ['a denied command', 'skipped', { command: floor('web', 1, 15), verdict: 'deny', effective: undefined, reason: 'not configured' }, { raisedFloors: { 'prod/api': 15 }, floorsRaisedOver: {} }],
    ['a command held for approval', 'skipped', { ...allowed(floor('web', 1, 15)), verdict: 'needs-approval' }, { raisedFloors: { 'prod/api': 15 }, floorsRaisedOver: {} }],
    // clamped 90 → 80: the value sent is the effective one
    ['a clamped raise holds the value sent', 'applied', { command: floor('web', 1, 90), verdict: 'clamp', effective: floor('web', 1, 80), reason: 'clamped' }, { raisedFloors: { 'prod/api': 15, 'prod/web': 80 }, floorsRaisedOver: {} }],
  ])('%s', (_name, result, guarded, expected) => {
    expect(floorMemoryAfter(held, [outcome(guarded, result)])).toStrictEqual(expected);
  });
});

describe('floors raised over someone else\'s', () => {
  const over = (from: number, to: number): SetHpaFloorCommand => ({ ...floor('api', from, to), raisedOverMinReplicas: from });
  it.each<[string, Record<string, number>, Record<string, number>, AuditEntry['result'], GuardedCommand, Record<string, unknown>]>([
    // an operator's 40, raised to 50 for a ramp: prescale holds 50 and remembers the 40 it raised over
    ['a raise over an operator floor remembers it', {}, {}, 'applied', allowed(over(40, 50)), { raisedFloors: { 'prod/api': 50 }, floorsRaisedOver: { 'prod/api': 40 } }],
    // the ramp over, 50 → 40 applied: the 40 is theirs again, neither held nor remembered
    ['the restore to it hands the floor back', { 'prod/api': 50 }, { 'prod/api': 40 }, 'applied', allowed(floor('api', 50, 40)), { raisedFloors: {}, floorsRaisedOver: {} }],
    // 50 → 45 (the forecast eases, still above 40): held at 45, the 40 still remembered
    ['an easing above it keeps it', { 'prod/api': 50 }, { 'prod/api': 40 }, 'applied', allowed(floor('api', 50, 45)), { raisedFloors: { 'prod/api': 45 }, floorsRaisedOver: { 'prod/api': 40 } }],
    // the restore refused: 50 still held, 40 still remembered, 40 the intent
    ['a failed restore keeps both', { 'prod/api': 50 }, { 'prod/api': 40 }, 'failed', allowed(floor('api', 50, 40)), { raisedFloors: { 'prod/api': 50 }, floorIntents: { 'prod/api': 40 }, floorsRaisedOver: { 'prod/api': 40 } }],
  ])('%s', (_name, held, raisedOver, result, guarded, expected) => {
    expect(floorMemoryAfter(held, [outcome(guarded, result)], raisedOver)).toStrictEqual(expected);
  });

  it('forgets a floor raised over once someone else moved the raise', () => {
    // api: live 50 = held → its 40 kept; web: live 12 ≠ the 30 held (someone moved it) → its 20 forgotten
    const memory = { raisedFloors: { 'prod/api': 50, 'prod/web': 30 }, floorsRaisedOver: { 'prod/api': 40, 'prod/web': 20 } };
    const held = observedFloors(memory, [hpa('api', 50), hpa('web', 12)]);
    expect(observedRaisedOver(memory, held)).toStrictEqual({ 'prod/api': 40 });
  });
});

describe('floorIntents', () => {
  it('names the floors act will send: allowed or clamped, not a no-op, at the effective value', () => {
    const guarded: GuardedCommand[] = [
      allowed(floor('b', 1, 15)),
      { command: floor('a', 1, 90), verdict: 'clamp', effective: floor('a', 1, 80), reason: 'clamped' },
      allowed(floor('noop', 4, 4)),
      { command: floor('denied', 1, 9), verdict: 'deny', effective: undefined, reason: 'not configured' },
      { command: { kind: 'scale-node-group', cluster: 'test', nodeGroup: 'web', fromNodes: 1, toNodes: 2, reason: 'test' }, verdict: 'allow', effective: undefined, reason: 'x' },
    ];
    expect(floorIntents(guarded)).toStrictEqual({ 'prod/a': 80, 'prod/b': 15 });
  });
});
