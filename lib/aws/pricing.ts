/**
 * The SDK side of `prescale prices refresh`: on-demand products from the AWS
 * Pricing API and spot history from EC2. What the numbers mean is decided in
 * lib/core/budget/merge.ts; this file only fetches, pages and classifies errors.
 */
import { EC2Client, DescribeSpotPriceHistoryCommand } from '@aws-sdk/client-ec2';
import { GetProductsCommand, PricingClient, type Filter } from '@aws-sdk/client-pricing';
import type { SpotPriceEntry } from '../core/budget/merge.ts';
import { computeClientConfig, withTotalTimeout } from './clients.ts';
import { callAws } from './errors.ts';

/** The Pricing API is served from a few regions only; us-east-1 answers for every region's prices. */
export const PRICING_API_REGION = 'us-east-1';
/** Days of spot history the ratio is taken over: a month smooths out one zone's spike. */
export const SPOT_HISTORY_DAYS = 30;
const DAY_MS = 86_400_000;
/** A runaway pager (a token that never ends) stops here rather than looping. */
const MAX_PAGES = 100;

/** With the retry mode and timeouts every prescale client has (clients.ts). */
export function createPricingClient(): PricingClient {
  return withTotalTimeout(new PricingClient(computeClientConfig({ region: PRICING_API_REGION })));
}

export function createEc2Client(region: string): EC2Client {
  return withTotalTimeout(new EC2Client(computeClientConfig({ region })));
}

/** Linux, shared tenancy, no pre-installed software, capacity actually used (not reservations): the list price the cost model uses. */
export function onDemandFilters(region: string, instanceType: string): Filter[] {
  const match = (Field: string, Value: string): Filter => ({ Type: 'TERM_MATCH', Field, Value });
  return [
    match('instanceType', instanceType),
    match('regionCode', region),
    match('operatingSystem', 'Linux'),
    match('tenancy', 'Shared'),
    match('preInstalledSw', 'NA'),
    match('capacitystatus', 'Used'),
  ];
}

/** Every matching `PriceList` entry (JSON strings), one query per region and instance type, all pages. */
export async function fetchOnDemandProducts(client: PricingClient, regions: readonly string[], instanceTypes: readonly string[]): Promise<string[]> {
  const products: string[] = [];
  for (const region of [...regions].sort()) {
    for (const instanceType of [...instanceTypes].sort()) {
      let nextToken: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const output = await callAws(`Pricing GetProducts ${region} ${instanceType}`, () =>
          client.send(new GetProductsCommand({ ServiceCode: 'AmazonEC2', FormatVersion: 'aws_v1', Filters: onDemandFilters(region, instanceType), MaxResults: 100, ...(nextToken === undefined ? {} : { NextToken: nextToken }) })),
        );
        products.push(...((output.PriceList ?? []) as unknown[]).map((p) => (typeof p === 'string' ? p : JSON.stringify(p))));
        nextToken = output.NextToken;
        if (nextToken === undefined || nextToken === '') break;
      }
    }
  }
  return products;
}

/** Linux/UNIX spot prices of the types over the last SPOT_HISTORY_DAYS before `nowMs`, every zone of the client's region. */
export async function fetchSpotHistory(client: EC2Client, instanceTypes: readonly string[], nowMs: number): Promise<SpotPriceEntry[]> {
  const entries: SpotPriceEntry[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const output = await callAws('EC2 DescribeSpotPriceHistory', () =>
      client.send(
        new DescribeSpotPriceHistoryCommand({
          InstanceTypes: [...instanceTypes].sort() as never,
          ProductDescriptions: ['Linux/UNIX'],
          StartTime: new Date(nowMs - SPOT_HISTORY_DAYS * DAY_MS),
          EndTime: new Date(nowMs),
          MaxResults: 1000,
          ...(nextToken === undefined ? {} : { NextToken: nextToken }),
        }),
      ),
    );
    for (const e of output.SpotPriceHistory ?? []) entries.push({ AvailabilityZone: e.AvailabilityZone, InstanceType: e.InstanceType, ProductDescription: e.ProductDescription, SpotPrice: e.SpotPrice, Timestamp: e.Timestamp });
    nextToken = output.NextToken;
    if (nextToken === undefined || nextToken === '') break;
  }
  return entries;
}
