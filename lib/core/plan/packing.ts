/**
 * Pods to nodes. Each service's pods are split between its allowed node
 * groups (a spot share for spot-tolerant services, on-demand for the rest and
 * for whatever spot cannot supply), then every group's pods are packed onto
 * its nodes first-fit decreasing. Among several allowed on-demand groups the
 * one that wastes least wins, then the cheaper.
 */
import { compareStrings } from '../canonical.ts';

export interface PodShape {
  readonly cpuMillicores: number;
  readonly memoryMiB: number;
}

export interface NodeShape {
  readonly cpuMillicores: number;
  readonly memoryMiB: number;
  readonly pods: number;
}

export interface PackingGroup {
  readonly name: string;
  readonly allocatable: NodeShape;
  readonly capacityType: 'on-demand' | 'spot';
  readonly usdPerHour: number;
  readonly maxNodes: number;
  /** Spot that cannot be had now (interruptions, insufficient capacity): its share falls back to on-demand. */
  readonly short: boolean;
}

export interface PackingService {
  readonly name: string;
  readonly pods: number;
  readonly request: PodShape;
  /** Allowed groups in order of preference. */
  readonly groups: readonly string[];
}

export interface Placement {
  readonly service: string;
  readonly group: string;
  readonly pods: number;
}

export interface PackingResult {
  readonly nodesByGroup: ReadonlyMap<string, number>;
  readonly placements: readonly Placement[];
  /** Pods that fit nowhere (every allowed group full or too small). */
  readonly unplaced: readonly { readonly service: string; readonly pods: number }[];
}

interface Bin {
  cpu: number;
  memory: number;
  slots: number;
}

function fits(bin: Bin, pod: PodShape): boolean {
  return bin.cpu >= pod.cpuMillicores && bin.memory >= pod.memoryMiB && bin.slots >= 1;
}

/** The larger of a pod's CPU and memory shares of a node: what FFD sorts by. */
export function dominantShare(pod: PodShape, node: NodeShape): number {
  return Math.max(pod.cpuMillicores / node.cpuMillicores, pod.memoryMiB / node.memoryMiB, 1 / node.pods);
}

/**
 * First-fit decreasing onto identical nodes. Returns the number of nodes, or
 * undefined when a pod is larger than an empty node.
 */
export function packFirstFitDecreasing(pods: readonly PodShape[], node: NodeShape): number | undefined {
  const sorted = [...pods].sort((a, b) => dominantShare(b, node) - dominantShare(a, node));
  const bins: Bin[] = [];
  for (const pod of sorted) {
    const bin = bins.find((b) => fits(b, pod));
    if (bin !== undefined) {
      bin.cpu -= pod.cpuMillicores;
      bin.memory -= pod.memoryMiB;
      bin.slots -= 1;
      continue;
    }
    const fresh: Bin = { cpu: node.cpuMillicores, memory: node.memoryMiB, slots: node.pods };
    if (!fits(fresh, pod)) return undefined;
    fresh.cpu -= pod.cpuMillicores;
    fresh.memory -= pod.memoryMiB;
    fresh.slots -= 1;
    bins.push(fresh);
  }
  return bins.length;
}

/** Pods of one shape, many at once: identical pods need no search, just the binding resource. */
export function podsPerNode(pod: PodShape, node: NodeShape): number {
  return Math.min(Math.floor(node.cpuMillicores / pod.cpuMillicores), Math.floor(node.memoryMiB / pod.memoryMiB), node.pods);
}

/** Unused fraction of the dominant resource on the nodes a set of pods needs. */
export function wasteFraction(pods: number, pod: PodShape, node: NodeShape): number {
  const perNode = podsPerNode(pod, node);
  if (perNode < 1) return Number.POSITIVE_INFINITY;
  const nodes = Math.ceil(pods / perNode);
  return nodes === 0 ? 0 : 1 - (pods * dominantShare(pod, node)) / nodes;
}

/**
 * How a service's pods split over its groups: spot gets `spotShare` (rounded
 * down, so on-demand keeps the odd pod) unless it is short; on-demand takes
 * the rest, in the group that wastes least, then the cheapest.
 */
export function splitService(service: PackingService, groups: ReadonlyMap<string, PackingGroup>, spotShare: number): Placement[] {
  const allowed = service.groups.map((name) => groups.get(name)).filter((g): g is PackingGroup => g !== undefined && podsPerNode(service.request, g.allocatable) >= 1);
  const spot = allowed.filter((g) => g.capacityType === 'spot' && !g.short);
  const onDemand = allowed.filter((g) => g.capacityType === 'on-demand');
  const placements: Placement[] = [];
  let remaining = service.pods;
  if (spot.length > 0 && onDemand.length > 0) {
    const spotGroup = spot[0]!;
    const spotPods = Math.min(Math.floor(service.pods * spotShare), spotGroup.maxNodes * podsPerNode(service.request, spotGroup.allocatable));
    if (spotPods > 0) placements.push({ service: service.name, group: spotGroup.name, pods: spotPods });
    remaining -= spotPods;
  } else if (onDemand.length === 0 && spot.length > 0) {
    placements.push({ service: service.name, group: spot[0]!.name, pods: remaining });
    return placements;
  }
  if (remaining > 0) {
    const candidates = onDemand.length > 0 ? onDemand : allowed;
    const best = [...candidates].sort((a, b) => {
      const waste = wasteFraction(remaining, service.request, a.allocatable) - wasteFraction(remaining, service.request, b.allocatable);
      if (Math.abs(waste) > 1e-9) return waste;
      const price = a.usdPerHour / podsPerNode(service.request, a.allocatable) - b.usdPerHour / podsPerNode(service.request, b.allocatable);
      if (Math.abs(price) > 1e-12) return price;
      return service.groups.indexOf(a.name) - service.groups.indexOf(b.name);
    })[0];
    if (best !== undefined) placements.push({ service: service.name, group: best.name, pods: remaining });
  }
  return placements;
}

/** Expands placements into pods and packs each group; identical pods take the fast path. */
export function packServices(services: readonly PackingService[], groups: readonly PackingGroup[], spotShare: number): PackingResult {
  const byName = new Map(groups.map((g) => [g.name, g]));
  const placements = services.flatMap((s) => splitService(s, byName, spotShare));
  const requests = new Map(services.map((s) => [s.name, s.request]));
  const nodesByGroup = new Map<string, number>();
  const unplaced: { service: string; pods: number }[] = [];
  for (const service of services) {
    const placed = placements.filter((p) => p.service === service.name).reduce((sum, p) => sum + p.pods, 0);
    if (placed < service.pods) unplaced.push({ service: service.name, pods: service.pods - placed });
  }
  for (const group of [...groups].sort((a, b) => compareStrings(a.name, b.name))) {
    const here = placements.filter((p) => p.group === group.name && p.pods > 0);
    let nodes: number | undefined;
    if (here.length === 1) {
      const only = here[0]!;
      nodes = Math.ceil(only.pods / podsPerNode(requests.get(only.service)!, group.allocatable));
    } else {
      nodes = packFirstFitDecreasing(
        here.flatMap((p) => Array.from({ length: p.pods }, () => requests.get(p.service)!)),
        group.allocatable,
      );
    }
    nodesByGroup.set(group.name, nodes ?? 0);
  }
  return { nodesByGroup, placements: placements.filter((p) => p.pods > 0), unplaced };
}
