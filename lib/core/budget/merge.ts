/**
 * `prescale prices refresh`, the pure half: fold AWS Pricing API products
 * (GetProducts `PriceList` entries, service code AmazonEC2) and EC2
 * DescribeSpotPriceHistory entries into the price table. The SDK calls live
 * in the adapter; this decides what the numbers mean.
 */
import { z } from 'zod';
import { compareStrings } from '../canonical.ts';
import { median } from '../forecast/numeric.ts';
import type { PriceTable } from './prices.ts';
import { instanceFamilyOf, onDemandUsdPerHourOf, parsePriceTable, roundUsd } from './prices.ts';

/** The fields of a Pricing API product we read; Pricing returns many more (hence loose, not strict). */
const pricingProductSchema = z.looseObject({
  product: z.looseObject({
    attributes: z.looseObject({
      instanceType: z.string(),
      regionCode: z.string(),
      operatingSystem: z.string(),
      tenancy: z.string(),
      preInstalledSw: z.string(),
      capacitystatus: z.string(),
      licenseModel: z.string().optional(),
    }),
  }),
  terms: z.looseObject({
    OnDemand: z.record(
      z.string(),
      z.looseObject({
        priceDimensions: z.record(z.string(), z.looseObject({ unit: z.string(), pricePerUnit: z.looseObject({ USD: z.string() }) })),
      }),
    ),
  }),
});

/** A DescribeSpotPriceHistory `SpotPriceHistory` entry (SDK shape). */
export interface SpotPriceEntry {
  readonly AvailabilityZone?: string | undefined;
  readonly InstanceType?: string | undefined;
  readonly ProductDescription?: string | undefined;
  readonly SpotPrice?: string | undefined;
  readonly Timestamp?: Date | string | undefined;
}

export interface MergeOptions {
  /** YYYY-MM-DD the refresh ran (the core takes time as a parameter). */
  readonly asOf: string;
  readonly source?: string;
}

export interface MergeResult {
  readonly table: PriceTable;
  /** Human-readable, sorted: `us-east-1 m5.large 0.096 → 0.1`, `spot us-east-1 m5 → 0.38`. */
  readonly changes: readonly string[];
  /** Products ignored: not Linux/shared/no software/used capacity, no hourly USD price, or unparseable. */
  readonly skippedProducts: number;
}

/** `us-east-1a` → `us-east-1`; `us-west-2-lax-1a` (a Local Zone) → `us-west-2`. */
export function regionOfAvailabilityZone(zone: string): string | undefined {
  return /^([a-z]{2}(?:-[a-z]+)+-\d+)/.exec(zone)?.[1];
}

/** The hourly on-demand USD price of a Linux, shared-tenancy, no-software product; undefined for any other. */
export function onDemandPriceOfProduct(raw: unknown): { region: string; instanceType: string; usdPerHour: number } | undefined {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      return undefined;
    }
  }
  const parsed = pricingProductSchema.safeParse(value);
  if (!parsed.success) return undefined;
  const a = parsed.data.product.attributes;
  if (a.operatingSystem !== 'Linux' || a.tenancy !== 'Shared' || a.preInstalledSw !== 'NA' || a.capacitystatus !== 'Used') return undefined;
  if (a.licenseModel !== undefined && a.licenseModel !== 'No License required') return undefined;
  const prices: number[] = [];
  for (const term of Object.values(parsed.data.terms.OnDemand)) {
    for (const dimension of Object.values(term.priceDimensions)) {
      const usd = Number(dimension.pricePerUnit.USD);
      if (dimension.unit === 'Hrs' && Number.isFinite(usd) && usd > 0) prices.push(usd);
    }
  }
  // One OnDemand term with one hourly dimension is the rule; with several, the lowest is the list price.
  if (prices.length === 0) return undefined;
  return { region: a.regionCode, instanceType: a.instanceType, usdPerHour: roundUsd(Math.min(...prices)) };
}

/**
 * New on-demand prices replace old ones (types and regions not in the
 * products are kept); spot history becomes a per-region, per-family ratio:
 * the median over every Linux/UNIX sample of spot ÷ on-demand for the same
 * type and region (the median ignores a spike in one zone).
 */
export function mergePriceTable(old: PriceTable, pricingProducts: readonly unknown[], spotHistory: readonly SpotPriceEntry[], options: MergeOptions): MergeResult {
  const onDemand: Record<string, Record<string, number>> = Object.fromEntries(Object.entries(old.onDemandUsdPerHour).map(([r, types]) => [r, { ...types }]));
  const changes: string[] = [];
  let skippedProducts = 0;
  for (const raw of pricingProducts) {
    const price = onDemandPriceOfProduct(raw);
    if (price === undefined) {
      skippedProducts += 1;
      continue;
    }
    const region = (onDemand[price.region] ??= {});
    const previous = region[price.instanceType];
    if (previous !== price.usdPerHour) changes.push(`${price.region} ${price.instanceType} ${previous ?? 'new'} → ${price.usdPerHour}`);
    region[price.instanceType] = price.usdPerHour;
  }

  const draft: PriceTable = { ...old, onDemandUsdPerHour: onDemand };
  const ratios = new Map<string, number[]>();
  for (const entry of spotHistory) {
    if (entry.ProductDescription !== undefined && entry.ProductDescription !== 'Linux/UNIX' && entry.ProductDescription !== 'Linux/UNIX (Amazon VPC)') continue;
    const region = entry.AvailabilityZone === undefined ? undefined : regionOfAvailabilityZone(entry.AvailabilityZone);
    const spot = Number(entry.SpotPrice);
    if (region === undefined || entry.InstanceType === undefined || !Number.isFinite(spot) || spot <= 0) continue;
    const onDemandPrice = onDemandUsdPerHourOf(entry.InstanceType, region, draft);
    if (onDemandPrice === undefined) continue;
    const key = `${region} ${instanceFamilyOf(entry.InstanceType)}`;
    const list = ratios.get(key) ?? [];
    list.push(Math.min(1, spot / onDemandPrice));
    ratios.set(key, list);
  }
  const byRegion: Record<string, Record<string, number>> = Object.fromEntries(Object.entries(old.spotPriceRatio.byRegion).map(([r, f]) => [r, { ...f }]));
  for (const [key, values] of [...ratios.entries()].sort(([a], [b]) => compareStrings(a, b))) {
    const [region, family] = key.split(' ') as [string, string];
    const ratio = Math.round(median(values) * 1000) / 1000;
    if (ratio <= 0) continue;
    const families = (byRegion[region] ??= {});
    if (families[family] !== ratio) changes.push(`spot ${region} ${family} ${families[family] ?? 'new'} → ${ratio}`);
    families[family] = ratio;
  }

  const table = parsePriceTable(
    {
      ...old,
      source: options.source ?? 'AWS Pricing API (AmazonEC2 GetProducts) and EC2 DescribeSpotPriceHistory',
      asOf: options.asOf,
      onDemandUsdPerHour: sortNested(onDemand),
      spotPriceRatio: { byFamily: sortFlat(old.spotPriceRatio.byFamily), byRegion: sortNested(byRegion) },
    },
    'refreshed price table',
  );
  return { table, changes: changes.sort(compareStrings), skippedProducts };
}

function sortFlat<T>(record: Readonly<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => compareStrings(a, b)));
}

function sortNested<T>(record: Readonly<Record<string, Readonly<Record<string, T>>>>): Record<string, Record<string, T>> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => compareStrings(a, b)).map(([k, v]) => [k, sortFlat(v)]));
}
