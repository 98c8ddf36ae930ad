import { describe, expect, it } from 'vitest';
import { packFirstFitDecreasing, packServices, splitService, wasteFraction, type PackingGroup } from '../../../lib/core/plan/packing.ts';

const node = { cpuMillicores: 4000, memoryMiB: 16_384, pods: 10 };
const group = (overrides: Partial<PackingGroup> & { name: string }): PackingGroup => ({
  allocatable: node,
  capacityType: 'on-demand',
  usdPerHour: 0.2,
  maxNodes: 100,
  short: false,
  ...overrides,
});

describe('first-fit decreasing', () => {
  it.each<[string, { cpuMillicores: number; memoryMiB: number }[], number | undefined]>([
    // 3 × 2500m cannot share a 4000m node → 3 nodes; the 1000m pods fill the gaps (1500m left on each)
    ['big pods first, small ones in the gaps', [2500, 1000, 2500, 1000, 2500, 1000].map((c) => ({ cpuMillicores: c, memoryMiB: 1024 })), 3],
    // memory binds: 6 × 6Gi on 16Gi nodes → 2 per node → 3 nodes
    ['memory as the binding resource', Array.from({ length: 6 }, () => ({ cpuMillicores: 100, memoryMiB: 6144 })), 3],
    // pod slots bind: 25 tiny pods, 10 per node → 3 nodes
    ['pod slots as the binding resource', Array.from({ length: 25 }, () => ({ cpuMillicores: 10, memoryMiB: 10 })), 3],
    ['a pod larger than a node', [{ cpuMillicores: 5000, memoryMiB: 1 }], undefined],
    ['nothing to pack', [], 0],
  ])('%s', (_name, pods, expected) => {
    expect(packFirstFitDecreasing(pods, node)).toBe(expected);
  });
});

describe('group choice', () => {
  const request = { cpuMillicores: 1500, memoryMiB: 2048 };
  it('picks the group that wastes least, then the cheaper', () => {
    // 4000m nodes: 2 pods per node (3000m), waste = 1 − 3000/4000 = 25 %
    // 6000m nodes: 4 pods per node (6000m), waste 0 % → wins despite the higher node price
    const groups = new Map([
      ['small', group({ name: 'small' })],
      ['large', group({ name: 'large', allocatable: { cpuMillicores: 6000, memoryMiB: 32_768, pods: 20 }, usdPerHour: 0.3 })],
    ]);
    expect(splitService({ name: 'api', pods: 8, request, groups: ['small', 'large'] }, groups, 0)).toEqual([{ service: 'api', group: 'large', pods: 8 }]);
    // 4 pods on 4000m nodes → 2 nodes, waste 25 %; the same waste everywhere → cheaper per pod wins: 0.1/2 < 0.2/2
    expect(wasteFraction(4, request, node)).toBeCloseTo(0.25, 12);
    const sameWaste = new Map([
      ['a', group({ name: 'a' })],
      ['b', group({ name: 'b', usdPerHour: 0.1 })],
    ]);
    expect(splitService({ name: 'api', pods: 4, request, groups: ['a', 'b'] }, sameWaste, 0)[0]!.group).toBe('b');
  });

  it('sends the spot share to spot and falls back to on-demand when spot is short', () => {
    const groups = new Map([
      ['general', group({ name: 'general' })],
      ['spot', group({ name: 'spot', capacityType: 'spot', usdPerHour: 0.07 })],
    ]);
    const service = { name: 'gateway', pods: 9, request, groups: ['general', 'spot'] };
    // floor(9 × 0.5) = 4 on spot, 5 on general
    expect(splitService(service, groups, 0.5)).toEqual([
      { service: 'gateway', group: 'spot', pods: 4 },
      { service: 'gateway', group: 'general', pods: 5 },
    ]);
    groups.set('spot', { ...groups.get('spot')!, short: true });
    expect(splitService(service, groups, 0.5)).toEqual([{ service: 'gateway', group: 'general', pods: 9 }]);
  });

  it('caps the spot share at what the spot group can hold', () => {
    const groups = new Map([
      ['general', group({ name: 'general' })],
      ['spot', group({ name: 'spot', capacityType: 'spot', maxNodes: 1 })],
    ]);
    // 1 spot node holds 2 pods of 1500m; floor(10 × 0.5) = 5 wanted → 2 on spot, 8 on general
    expect(splitService({ name: 'g', pods: 10, request, groups: ['general', 'spot'] }, groups, 0.5)).toEqual([
      { service: 'g', group: 'spot', pods: 2 },
      { service: 'g', group: 'general', pods: 8 },
    ]);
  });

  it('packs several services into one group and reports what fits nowhere', () => {
    const result = packServices(
      [
        { name: 'a', pods: 3, request: { cpuMillicores: 2500, memoryMiB: 1024 }, groups: ['g'] },
        { name: 'b', pods: 3, request: { cpuMillicores: 1000, memoryMiB: 1024 }, groups: ['g'] },
        { name: 'c', pods: 2, request: { cpuMillicores: 100, memoryMiB: 100 }, groups: ['missing'] },
      ],
      [group({ name: 'g' })],
      0,
    );
    // as in the FFD table: 3 × 2500m + 3 × 1000m → 3 nodes
    expect(result.nodesByGroup.get('g')).toBe(3);
    expect(result.unplaced).toEqual([{ service: 'c', pods: 2 }]);
  });
});
