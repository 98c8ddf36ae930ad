/**
 * Which predictive HPA floors prescale holds, and what it remembers of them.
 *
 * Prescale lowers only a floor it holds: one whose live minReplicas is the
 * value prescale last set (a raise, or a restore to the configured value), or
 * the value a run was about to set when it could not save what happened (its
 * intent). Any other value was set by someone else — an operator's emergency
 * floor, kubectl — and is theirs: prescale may still raise it for a ramp, but
 * never lowers it. The memory follows what the cluster shows and what each
 * command did, never what was planned.
 */
import type { GuardedCommand, SetHpaFloorCommand } from '../commands.ts';
import { isNoOp } from '../commands.ts';
import { compareStrings } from '../canonical.ts';
import type { AuditEntry, HpaState, PlannerMemory } from '../../ports.ts';

export type FloorMemory = Pick<PlannerMemory, 'raisedFloors' | 'floorIntents' | 'floorsRaisedOver'>;

/** The memory key of a service's HPA floor. */
export function floorKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** A remembered floor as read back from the store: a whole number ≥ 1, or nothing. */
export function rememberedFloorValue(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 ? value : undefined;
}

/**
 * The floor prescale holds on an HPA: its live minReplicas when that is the
 * value prescale last set or meant to set; undefined when it is someone else's.
 */
export function heldFloor(liveMinReplicas: number, remembered: unknown, intent: unknown): number | undefined {
  return liveMinReplicas === rememberedFloorValue(remembered) || liveMinReplicas === rememberedFloorValue(intent) ? liveMinReplicas : undefined;
}

/**
 * The floors prescale holds as the cluster shows them now: an observed HPA
 * keeps its entry (at the live value) while prescale holds it, and loses it
 * once someone else moved it; intents are resolved by the same reading. An
 * HPA not observed this run keeps what was remembered (no evidence either way).
 */
export function observedFloors(memory: FloorMemory, hpas: readonly HpaState[]): Record<string, number> {
  const held: Record<string, number> = {};
  for (const [key, value] of Object.entries(memory.raisedFloors)) {
    const floor = rememberedFloorValue(value);
    if (floor !== undefined) held[key] = floor;
  }
  for (const hpa of hpas) {
    const key = floorKey(hpa.namespace, hpa.name);
    const floor = heldFloor(hpa.minReplicas, memory.raisedFloors[key], memory.floorIntents?.[key]);
    if (floor === undefined) delete held[key];
    else held[key] = floor;
  }
  return sortedRecord(held);
}

/**
 * The floors raised over that still matter: those of floors prescale still
 * holds (`held`, from observedFloors). Once someone else moved a floor, the
 * value they set is theirs and the one prescale raised over is history.
 */
export function observedRaisedOver(memory: FloorMemory, held: Readonly<Record<string, number>>): Record<string, number> {
  const kept: Record<string, number> = {};
  for (const [key, value] of Object.entries(memory.floorsRaisedOver ?? {})) {
    const floor = rememberedFloorValue(value);
    if (floor !== undefined && held[key] !== undefined) kept[key] = floor;
  }
  return sortedRecord(kept);
}

/** The floor command `act` will send for an entry, if any: allowed or clamped, and not a no-op. */
function floorToSend(entry: GuardedCommand): SetHpaFloorCommand | undefined {
  const command = entry.effective;
  if (command?.kind !== 'set-hpa-floor' || (entry.verdict !== 'allow' && entry.verdict !== 'clamp') || isNoOp(command)) return undefined;
  return command;
}

/** The floors the raises about to be sent go over (someone else's), by memory key: saved with the intents. */
export function floorsRaisedOverBy(guarded: readonly GuardedCommand[]): Record<string, number> {
  const over: Record<string, number> = {};
  for (const entry of guarded) {
    const command = floorToSend(entry);
    if (command?.raisedOverMinReplicas !== undefined) over[floorKey(command.namespace, command.service)] = command.raisedOverMinReplicas;
  }
  return sortedRecord(over);
}

/** The floors a run is about to set, by memory key: saved as intents before any is sent. */
export function floorIntents(guarded: readonly GuardedCommand[]): Record<string, number> {
  const intents: Record<string, number> = {};
  for (const entry of guarded) {
    const command = floorToSend(entry);
    if (command !== undefined) intents[floorKey(command.namespace, command.service)] = command.toMinReplicas;
  }
  return sortedRecord(intents);
}

/**
 * The floor memory after `act`, from what each floor command did: an applied
 * floor is held at the value it set; a failed or requeued one keeps its intent
 * (the call may have landed: the next run reads which value is live); one that
 * was never sent (held for approval, denied, skipped, a no-op) changed nothing.
 * A raise applied over someone else's floor remembers that floor; a
 * lowering applied to it hands the floor back (prescale no longer holds it).
 * `held`: the floors held before the run (`observedFloors`); `raisedOver`:
 * theirs (`observedRaisedOver`).
 */
export function floorMemoryAfter(
  held: Readonly<Record<string, number>>,
  outcomes: readonly { readonly guarded: GuardedCommand; readonly result: AuditEntry['result'] }[],
  raisedOver: Readonly<Record<string, number>> = {},
): FloorMemory {
  const raisedFloors: Record<string, number> = { ...held };
  const over: Record<string, number> = { ...raisedOver };
  const intents: Record<string, number> = {};
  for (const { guarded, result } of outcomes) {
    const command = floorToSend(guarded);
    if (command === undefined) continue;
    const key = floorKey(command.namespace, command.service);
    if (result === 'applied') {
      raisedFloors[key] = command.toMinReplicas;
      if (command.raisedOverMinReplicas !== undefined) over[key] = command.raisedOverMinReplicas;
      else if (command.toMinReplicas < command.fromMinReplicas && over[key] === command.toMinReplicas) {
        delete raisedFloors[key];
        delete over[key];
      }
    } else if (result === 'failed' || result === 'requeued') {
      // It may have landed: if it did, the next run holds it through the intent, and must know what it went over.
      intents[key] = command.toMinReplicas;
      if (command.raisedOverMinReplicas !== undefined) over[key] = command.raisedOverMinReplicas;
    }
  }
  // Always written, empty or not: the memory this spreads over must not keep an entry handed back.
  return { raisedFloors: sortedRecord(raisedFloors), ...(Object.keys(intents).length === 0 ? {} : { floorIntents: sortedRecord(intents) }), floorsRaisedOver: sortedRecord(over) };
}

/** Keys in code-point order: memory is output, and output is sorted. */
function sortedRecord(record: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => compareStrings(a, b)));
}
