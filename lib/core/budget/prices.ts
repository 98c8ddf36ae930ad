/**
 * The price side of the cost model: a bundled table of on-demand USD/hour per
 * region and instance type, and spot as a ratio of on-demand per family
 * (spot prices move; a historical ratio is steadier than a point quote).
 * Pure: the table is data passed in; the bundled one is imported as JSON.
 */
import { z } from 'zod';
import type { NodeGroupConfig } from '../../config/schema.ts';
import { PrescaleError } from '../../errors.ts';
import { compareStrings } from '../canonical.ts';
import bundled from '../../../data/prices/ec2.json' with { type: 'json' };

const usdPerHour = z.number().positive('must be > 0').finite();
const ratio = z.number().gt(0, 'must be > 0').lte(1, 'must be ≤ 1');

export const priceTableSchema = z.strictObject({
  /** Where the numbers came from, for the audit trail. */
  source: z.string().min(1),
  /** Date (YYYY-MM-DD) the prices were read. */
  asOf: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD'),
  currency: z.literal('USD'),
  notes: z.string().optional(),
  /** region → instance type → on-demand USD/hour (Linux, shared tenancy). */
  onDemandUsdPerHour: z.record(z.string(), z.record(z.string(), usdPerHour)),
  /** Spot price as a fraction of on-demand: a region's own figure wins over the family's. */
  spotPriceRatio: z.strictObject({
    byFamily: z.record(z.string(), ratio),
    byRegion: z.record(z.string(), z.record(z.string(), ratio)).default({}),
  }),
});

export type PriceTable = z.infer<typeof priceTableSchema>;

let bundledTable: PriceTable | undefined;

/** The table shipped in data/prices/ec2.json, validated once. */
export function bundledPriceTable(): PriceTable {
  bundledTable ??= parsePriceTable(bundled, 'data/prices/ec2.json');
  return bundledTable;
}

export function parsePriceTable(value: unknown, what = 'price table'): PriceTable {
  const parsed = priceTableSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'} ${issue.message}`).sort();
  throw new PrescaleError('validation', `${what} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`, { details: problems });
}

/** `m5.large` → `m5`; `c6gn.xlarge` → `c6gn`. */
export function instanceFamilyOf(instanceType: string): string {
  const dot = instanceType.indexOf('.');
  return dot < 0 ? instanceType : instanceType.slice(0, dot);
}

export function onDemandUsdPerHourOf(instanceType: string, region: string, table: PriceTable): number | undefined {
  return table.onDemandUsdPerHour[region]?.[instanceType];
}

export function spotPriceRatioOf(instanceType: string, region: string, table: PriceTable): number | undefined {
  const family = instanceFamilyOf(instanceType);
  return table.spotPriceRatio.byRegion[region]?.[family] ?? table.spotPriceRatio.byFamily[family];
}

export type NodeGroupPricing = Pick<NodeGroupConfig, 'name' | 'instanceTypes' | 'capacityType' | 'usdPerHour'>;

/**
 * USD/hour of one node of the group. The config's `usdPerHour` override wins;
 * otherwise the table. A group with several instance types is priced at its
 * cheapest (smallest) type: the config states `allocatable` for the smallest
 * type, so the planner counts nodes of that size and the cost must match.
 * Every listed type must be in the table, or we could not tell which is the
 * smallest: the error names each missing type and the region.
 */
export function usdPerHourOf(nodeGroup: NodeGroupPricing, region: string, table: PriceTable): number {
  if (nodeGroup.usdPerHour !== undefined) return nodeGroup.usdPerHour;
  const missing: string[] = [];
  let cheapest: { instanceType: string; usdPerHour: number } | undefined;
  for (const instanceType of nodeGroup.instanceTypes) {
    const price = onDemandUsdPerHourOf(instanceType, region, table);
    if (price === undefined) {
      missing.push(instanceType);
      continue;
    }
    if (cheapest === undefined || price < cheapest.usdPerHour) cheapest = { instanceType, usdPerHour: price };
  }
  if (missing.length > 0 || cheapest === undefined) {
    const known = table.onDemandUsdPerHour[region] === undefined ? ` (the table has no prices for region ${region})` : '';
    throw new PrescaleError(
      'config',
      `node group "${nodeGroup.name}": no on-demand price for ${[...missing].sort().join(', ')} in ${region}${known} in the price table of ${table.asOf}; ` +
        `set nodeGroups[].usdPerHour or run \`prescale prices refresh\``,
    );
  }
  if (nodeGroup.capacityType === 'on-demand') return cheapest.usdPerHour;
  const spotRatio = spotPriceRatioOf(cheapest.instanceType, region, table);
  if (spotRatio === undefined) {
    throw new PrescaleError(
      'config',
      `node group "${nodeGroup.name}": no spot price ratio for family ${instanceFamilyOf(cheapest.instanceType)} (${cheapest.instanceType}) in ${region} in the price table of ${table.asOf}; ` +
        `set nodeGroups[].usdPerHour or run \`prescale prices refresh\``,
    );
  }
  return roundUsd(cheapest.usdPerHour * spotRatio);
}

/** Node group name → USD/hour per node, for every group (throws on the first unpriced group, sorted by name). */
export function nodeGroupPricesUsdPerHour(nodeGroups: readonly NodeGroupPricing[], region: string, table: PriceTable): Record<string, number> {
  const prices: Record<string, number> = {};
  for (const group of [...nodeGroups].sort((a, b) => compareStrings(a.name, b.name))) prices[group.name] = usdPerHourOf(group, region, table);
  return prices;
}

/** Prices are quoted to 6 decimals; rounding keeps products like 0.096 × 0.4 reproducible in logs. */
export function roundUsd(usd: number): number {
  return Math.round(usd * 1e6) / 1e6;
}
