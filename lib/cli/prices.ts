/**
 * `prescale prices refresh --config FILE…`: the on-demand prices and spot
 * ratios of every instance type the configurations name, in their regions,
 * fetched from AWS and merged into the bundled table (mergePriceTable), then
 * written back sorted so the diff shows only what changed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { PricingClient } from '@aws-sdk/client-pricing';
import { createEc2Client, createPricingClient, fetchOnDemandProducts, fetchSpotHistory } from '../aws/pricing.ts';
import { loadConfigFile } from '../config/load.ts';
import { compareStrings } from '../core/canonical.ts';
import type { PrescaleConfig } from '../config/schema.ts';
import { mergePriceTable, type MergeResult } from '../core/budget/merge.ts';
import { parsePriceTable } from '../core/budget/prices.ts';
import { ValidationError } from '../errors.ts';
import { stableJson } from '../sim/report.ts';

export const BUNDLED_TABLE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'data', 'prices', 'ec2.json');

export const PRICES_HELP = `prescale prices refresh --config FILE [--config FILE…] [options]

Fetches on-demand prices (AWS Pricing API, Linux, shared tenancy, no
pre-installed software) and 30 days of Linux/UNIX spot price history for
every instance type the configurations name, in their regions, merges them
into the price table and writes it back sorted. Prints every change.

  --config FILE   a cluster configuration (repeat for several)
  --table FILE    the table to update [data/prices/ec2.json]
  --dry-run       print the changes, write nothing
`;

/** Region → sorted instance types, from every node group of every configuration. */
export function pricedTypesByRegion(configs: readonly PrescaleConfig[]): Map<string, string[]> {
  const byRegion = new Map<string, Set<string>>();
  for (const config of configs) {
    const types = byRegion.get(config.cluster.region) ?? new Set<string>();
    for (const group of config.nodeGroups) for (const type of group.instanceTypes) types.add(type);
    byRegion.set(config.cluster.region, types);
  }
  return new Map([...byRegion.entries()].sort(([a], [b]) => compareStrings(a, b)).map(([region, types]) => [region, [...types].sort()]));
}

export interface RefreshInput {
  readonly configs: readonly PrescaleConfig[];
  readonly table: unknown;
  readonly pricing: PricingClient;
  readonly ec2For: (region: string) => EC2Client;
  readonly nowMs: number;
}

export async function refreshPrices(input: RefreshInput): Promise<MergeResult> {
  const old = parsePriceTable(input.table, 'the current price table');
  const byRegion = pricedTypesByRegion(input.configs);
  const products: string[] = [];
  const spot = [];
  for (const [region, types] of byRegion) {
    products.push(...(await fetchOnDemandProducts(input.pricing, [region], types)));
    spot.push(...(await fetchSpotHistory(input.ec2For(region), types, input.nowMs)));
  }
  return mergePriceTable(old, products, spot, { asOf: new Date(input.nowMs).toISOString().slice(0, 10) });
}

export async function pricesCommand(argv: readonly string[], deps: { readonly nowMs?: number; readonly pricing?: PricingClient; readonly ec2For?: (region: string) => EC2Client; readonly write?: (text: string) => void } = {}): Promise<number> {
  const out = deps.write ?? ((text: string) => process.stdout.write(text));
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === 'help' || sub === '--help') {
    out(PRICES_HELP);
    return 0;
  }
  if (sub !== 'refresh') throw new ValidationError('options', [`unknown prices subcommand "${sub}" (only refresh)`]);
  const { values } = parseArgs({ args: [...rest], strict: true, options: { config: { type: 'string', multiple: true }, table: { type: 'string', default: BUNDLED_TABLE }, 'dry-run': { type: 'boolean', default: false }, help: { type: 'boolean', default: false } } });
  if (values.help) {
    out(PRICES_HELP);
    return 0;
  }
  if (values.config === undefined || values.config.length === 0) throw new ValidationError('options', ['--config is required (repeat it for several clusters)']);
  const tablePath = values.table!;
  // Unchecked prices: adding the missing ones is what this command is for.
  const configs = values.config.map((file) => loadConfigFile(file, { priceTable: false }));
  const clients = new Map<string, EC2Client>();
  const pricing = deps.pricing ?? createPricingClient();
  const ec2For = deps.ec2For ?? ((region: string) => {
    let client = clients.get(region);
    if (client === undefined) clients.set(region, (client = createEc2Client(region)));
    return client;
  });
  try {
    const result = await refreshPrices({ configs, table: JSON.parse(readFileSync(tablePath, 'utf8')) as unknown, pricing, ec2For, nowMs: deps.nowMs ?? Date.now() });
    for (const change of result.changes) out(`${change}\n`);
    out(`${result.changes.length} change(s); ${result.skippedProducts} product(s) skipped (not Linux/shared/no software/used, or no hourly USD price)\n`);
    if (values['dry-run']) out('dry run: nothing written\n');
    else {
      writeFileSync(tablePath, stableJson(result.table));
      out(`wrote ${tablePath}\n`);
    }
    return 0;
  } finally {
    if (deps.pricing === undefined) pricing.destroy();
    for (const client of clients.values()) client.destroy();
  }
}
