import { describe, expect, it } from 'vitest';
import type { Command } from '../../../lib/core/commands.ts';
import { isPrescaleError } from '../../../lib/errors.ts';
import {
  bundledPriceTable,
  instanceFamilyOf,
  nodeGroupPricesUsdPerHour,
  parsePriceTable,
  usdPerHourOf,
  type NodeGroupPricing,
  type PriceTable,
} from '../../../lib/core/budget/prices.ts';
import { fleetUsdPerHour, formatUsd, planCost } from '../../../lib/core/budget/cost.ts';
import { mergePriceTable, onDemandPriceOfProduct, regionOfAvailabilityZone } from '../../../lib/core/budget/merge.ts';

const table: PriceTable = {
  source: 'test',
  asOf: '2024-06-01',
  currency: 'USD',
  onDemandUsdPerHour: { 'us-east-1': { 'm5.large': 0.096, 'm5.xlarge': 0.192, 'c5.2xlarge': 0.34 } },
  spotPriceRatio: { byFamily: { m5: 0.4 }, byRegion: { 'us-east-1': { c5: 0.3 } } },
};

const group = (patch: Partial<NodeGroupPricing>): NodeGroupPricing => ({ name: 'general', instanceTypes: ['m5.large'], capacityType: 'on-demand', usdPerHour: undefined, ...patch });

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return isPrescaleError(error) ? `${error.code}: ${error.message}` : String(error);
  }
  return 'no error';
}

describe('bundled price table', () => {
  const bundled = bundledPriceTable();
  const regions = ['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-1'];
  const families = ['m5', 'c5', 'r5', 'm6i', 'c6i', 'r6i', 'm7i', 'c7i', 'r7i', 't3', 'm6g', 'c6g', 'r6g'];
  const sizes = ['large', 'xlarge', '2xlarge', '4xlarge'];

  it('says where and when the prices come from', () => {
    expect(bundled.source).not.toBe('');
    expect(bundled.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('prices every family large..4xlarge in every region, on-demand and spot (t3 stops at 2xlarge)', () => {
    const missing: string[] = [];
    for (const region of regions) {
      for (const family of families) {
        for (const size of sizes) {
          if (family === 't3' && size === '4xlarge') continue;
          const type = `${family}.${size}`;
          for (const capacityType of ['on-demand', 'spot'] as const) {
            try {
              usdPerHourOf(group({ instanceTypes: [type], capacityType }), region, bundled);
            } catch {
              missing.push(`${region} ${type} ${capacityType}`);
            }
          }
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('doubles with each size within a family (how EC2 prices sizes)', () => {
    for (const region of regions) {
      for (const family of families) {
        const large = bundled.onDemandUsdPerHour[region]?.[`${family}.large`] ?? NaN;
        expect(bundled.onDemandUsdPerHour[region]?.[`${family}.xlarge`]).toBeCloseTo(2 * large, 6);
        expect(bundled.onDemandUsdPerHour[region]?.[`${family}.2xlarge`]).toBeCloseTo(4 * large, 6);
      }
    }
  });

  it('knows the anchor prices (us-east-1, Linux)', () => {
    expect(bundled.onDemandUsdPerHour['us-east-1']?.['m5.large']).toBe(0.096);
    expect(bundled.onDemandUsdPerHour['us-east-1']?.['c5.2xlarge']).toBe(0.34);
    expect(bundled.onDemandUsdPerHour['us-east-1']?.['r5.xlarge']).toBe(0.252);
  });

  it('prices the example configuration', () => {
    // general m5.large 0.096; compute c5.2xlarge 0.34; memory r5.xlarge 0.252; spot m5.large 0.096 × 0.4 = 0.0384
    const prices = nodeGroupPricesUsdPerHour(
      [
        group({ name: 'general', instanceTypes: ['m5.large', 'm5.xlarge'] }),
        group({ name: 'compute', instanceTypes: ['c5.2xlarge', 'c5.4xlarge'] }),
        group({ name: 'memory', instanceTypes: ['r5.xlarge', 'r5.2xlarge'] }),
        group({ name: 'spot', instanceTypes: ['m5.large'], capacityType: 'spot' }),
      ],
      'us-east-1',
      bundled,
    );
    expect(prices).toEqual({ compute: 0.34, general: 0.096, memory: 0.252, spot: 0.0384 });
    expect(Object.keys(prices)).toEqual(['compute', 'general', 'memory', 'spot']);
  });
});

describe('usdPerHourOf', () => {
  it.each<[string, Partial<NodeGroupPricing>, string, number]>([
    ['the config override wins', { usdPerHour: 1.5, instanceTypes: ['x9.huge'] }, 'nowhere-1', 1.5],
    ['one type from the table', {}, 'us-east-1', 0.096],
    // several types: the cheapest (smallest) = m5.large 0.096, whatever the order
    ['several types: the smallest', { instanceTypes: ['m5.xlarge', 'm5.large'] }, 'us-east-1', 0.096],
    // 0.096 × family ratio 0.4 = 0.0384
    ['spot: family ratio', { capacityType: 'spot' }, 'us-east-1', 0.0384],
    // 0.34 × region ratio 0.3 = 0.102
    ['spot: region ratio', { capacityType: 'spot', instanceTypes: ['c5.2xlarge'] }, 'us-east-1', 0.102],
  ])('%s', (_name, patch, region, expected) => {
    expect(usdPerHourOf(group(patch), region, table)).toBeCloseTo(expected, 9);
  });

  it.each<[string, Partial<NodeGroupPricing>, string, RegExp]>([
    ['names the missing type and region', { instanceTypes: ['m5.large', 'x9.huge'] }, 'us-east-1', /config: node group "general": no on-demand price for x9\.huge in us-east-1 .*usdPerHour/],
    ['says when the region is unknown', {}, 'mars-north-1', /no on-demand price for m5\.large in mars-north-1 \(the table has no prices for region mars-north-1\)/],
    ['names the family with no spot ratio', { instanceTypes: ['m5.xlarge'], capacityType: 'spot', name: 'x' }, 'us-east-1', /node group "x": no spot price ratio for family m5 \(m5\.xlarge\) in us-east-1/],
  ])('%s', (_name, patch, region, message) => {
    const t: PriceTable = { ...table, spotPriceRatio: { byFamily: {}, byRegion: {} } };
    expect(errorOf(() => usdPerHourOf(group(patch), region, patch.capacityType === 'spot' ? t : table))).toMatch(message);
  });

  it('rejects a malformed table with every problem', () => {
    expect(errorOf(() => parsePriceTable({ ...table, asOf: 'June', onDemandUsdPerHour: { 'us-east-1': { 'm5.large': -1 } } }))).toMatch(
      /validation: .*asOf must be a date.*\n.*onDemandUsdPerHour\.us-east-1\.m5\.large must be > 0/s,
    );
  });

  it.each([
    ['m5.large', 'm5'],
    ['c6gn.16xlarge', 'c6gn'],
    ['u-6tb1.metal', 'u-6tb1'],
  ])('instanceFamilyOf(%s) = %s', (type, family) => expect(instanceFamilyOf(type)).toBe(family));
});

describe('plan cost', () => {
  const prices = { general: 0.096, compute: 0.34 };
  const commands: Command[] = [
    { kind: 'scale-node-group', cluster: 'c', nodeGroup: 'general', fromNodes: 3, toNodes: 5, reason: '' },
    { kind: 'scale-node-group', cluster: 'c', nodeGroup: 'compute', fromNodes: 2, toNodes: 1, reason: '' },
    { kind: 'scale-node-group', cluster: 'c', nodeGroup: 'gpu', fromNodes: 0, toNodes: 1, reason: '' },
    { kind: 'set-hpa-floor', cluster: 'c', namespace: 'n', service: 's', fromMinReplicas: 1, toMinReplicas: 9, reason: '' },
  ];

  it('sums node changes × price and lists unpriced groups', () => {
    // before 3 × 0.096 + 2 × 0.34 = 0.968; after 5 × 0.096 + 1 × 0.34 = 0.82; delta −0.148
    const cost = planCost(commands, prices);
    expect(cost.beforeUsdPerHour).toBeCloseTo(0.968, 9);
    expect(cost.afterUsdPerHour).toBeCloseTo(0.82, 9);
    expect(cost.deltaUsdPerHour).toBeCloseTo(-0.148, 9);
    expect(cost.unpricedNodeGroups).toEqual(['gpu']);
    expect(planCost(commands, prices).deltaUsdPerHour).toBeCloseTo(-0.148, 9);
  });

  it('prices a fleet', () => {
    // 3 × 0.096 + 2 × 0.34 = 0.968 (unpriced groups count 0)
    expect(fleetUsdPerHour({ general: 3, compute: 2, gpu: 4 }, prices)).toBeCloseTo(0.968, 9);
  });

  it.each<[number, boolean, string]>([
    [1234.5, false, '$1,234.50'],
    [0.38, true, '+$0.38'],
    [-0.148, true, '−$0.15'],
    [0.0384, false, '$0.04'],
    [0.0012, false, '$0.0012'],
    [0, true, '+$0.00'],
  ])('formatUsd(%s, signed %s) = %s', (usd, signed, expected) => expect(formatUsd(usd, { signed })).toBe(expected));
});

describe('mergePriceTable', () => {
  const product = (instanceType: string, regionCode: string, usd: string, patch: Record<string, string> = {}) =>
    JSON.stringify({
      product: { attributes: { instanceType, regionCode, operatingSystem: 'Linux', tenancy: 'Shared', preInstalledSw: 'NA', capacitystatus: 'Used', licenseModel: 'No License required', ...patch } },
      terms: { OnDemand: { 'SKU.JRTCKXETXF': { priceDimensions: { 'SKU.JRTCKXETXF.6YS6EN2CT7': { unit: 'Hrs', pricePerUnit: { USD: usd } } } } } },
    });

  it('updates on-demand prices, keeps the rest, skips other products, and derives spot ratios', () => {
    const products = [
      product('m5.large', 'us-east-1', '0.1000000000'),
      product('m6i.large', 'us-east-1', '0.0960000000'),
      product('m5.large', 'us-east-1', '0.2000000000', { operatingSystem: 'Windows' }),
      product('m5.large', 'us-east-1', '0.1500000000', { tenancy: 'Dedicated' }),
      product('m5.large', 'us-east-1', '0.0000000000', { capacitystatus: 'UnusedCapacityReservation' }),
      'not json',
    ];
    // m5 in us-east-1 (new on-demand 0.1): samples 0.03/0.1 = 0.3, 0.04/0.1 = 0.4, 0.05/0.1 = 0.5 → median 0.4
    const spot = [
      { AvailabilityZone: 'us-east-1a', InstanceType: 'm5.large', ProductDescription: 'Linux/UNIX', SpotPrice: '0.030000' },
      { AvailabilityZone: 'us-east-1b', InstanceType: 'm5.large', ProductDescription: 'Linux/UNIX', SpotPrice: '0.050000' },
      { AvailabilityZone: 'us-east-1c', InstanceType: 'm5.xlarge', ProductDescription: 'Linux/UNIX', SpotPrice: '0.080000' },
      { AvailabilityZone: 'us-east-1c', InstanceType: 'm5.large', ProductDescription: 'Windows', SpotPrice: '0.090000' },
      { AvailabilityZone: 'us-east-1c', InstanceType: 'z1d.large', ProductDescription: 'Linux/UNIX', SpotPrice: '0.090000' },
    ];
    const { table: merged, changes, skippedProducts } = mergePriceTable(table, products, spot, { asOf: '2025-01-15' });
    expect(skippedProducts).toBe(4);
    expect(merged.asOf).toBe('2025-01-15');
    expect(merged.onDemandUsdPerHour['us-east-1']).toEqual({ 'c5.2xlarge': 0.34, 'm5.large': 0.1, 'm5.xlarge': 0.192, 'm6i.large': 0.096 });
    // m5.xlarge 0.08 / 0.192 = 0.4167; samples {0.3, 0.4167, 0.5} → median 0.417
    expect(merged.spotPriceRatio.byRegion['us-east-1']).toEqual({ c5: 0.3, m5: 0.417 });
    expect(merged.spotPriceRatio.byFamily).toEqual({ m5: 0.4 });
    expect(changes).toEqual(['spot us-east-1 m5 new → 0.417', 'us-east-1 m5.large 0.096 → 0.1', 'us-east-1 m6i.large new → 0.096']);
  });

  it.each([
    ['us-east-1a', 'us-east-1'],
    ['ap-southeast-1c', 'ap-southeast-1'],
    ['us-west-2-lax-1a', 'us-west-2'],
    ['nonsense', undefined],
  ])('regionOfAvailabilityZone(%s) = %s', (zone, region) => expect(regionOfAvailabilityZone(zone)).toBe(region));

  it('accepts a parsed product object as well as the JSON string', () => {
    expect(onDemandPriceOfProduct(JSON.parse(product('c5.large', 'eu-west-1', '0.0960000000')))).toEqual({ region: 'eu-west-1', instanceType: 'c5.large', usdPerHour: 0.096 });
  });
});
