import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeSpotPriceHistoryCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetProductsCommand, PricingClient } from '@aws-sdk/client-pricing';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pricedTypesByRegion, pricesCommand } from '../../../lib/cli/prices.ts';
import { stableJson } from '../../../lib/sim/report.ts';
import { loadConfigFile } from '../../../lib/config/load.ts';
import { parsePriceTable } from '../../../lib/core/budget/prices.ts';
import { main } from '../../../lib/cli/main.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;
const EXAMPLE = join(ROOT, 'config', 'example.yaml');
const NOW_MS = Date.UTC(2026, 10, 2, 14, 0, 0);
const pricingMock = mockClient(PricingClient);
const ec2Mock = mockClient(EC2Client);
let dir: string;

/** A Pricing API product as GetProducts returns it (trimmed to what the merge reads). */
function product(instanceType: string, usd: string, overrides: Record<string, string> = {}): string {
  return JSON.stringify({
    product: { attributes: { instanceType, regionCode: 'us-east-1', operatingSystem: 'Linux', tenancy: 'Shared', preInstalledSw: 'NA', capacitystatus: 'Used', ...overrides } },
    terms: { OnDemand: { 'T.1': { priceDimensions: { 'T.1.2': { unit: 'Hrs', pricePerUnit: { USD: usd } } } } } },
  });
}

beforeEach(() => {
  pricingMock.reset();
  ec2Mock.reset();
  dir = mkdtempSync(join(tmpdir(), 'prescale-prices-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('pricedTypesByRegion', () => {
  it('lists every instance type of the config, sorted, under its region', () => {
    const config = loadConfigFile(EXAMPLE);
    const types = pricedTypesByRegion([config]);
    expect([...types.keys()]).toEqual([config.cluster.region]);
    expect(types.get(config.cluster.region)).toEqual([...new Set(config.nodeGroups.flatMap((g) => g.instanceTypes))].sort());
  });
});

describe('stableJson', () => {
  it('sorts keys at every level', () => {
    expect(stableJson({ b: 1, a: { d: 2, c: [{ z: 1, y: 2 }] } })).toBe('{\n  "a": {\n    "c": [\n      {\n        "y": 2,\n        "z": 1\n      }\n    ],\n    "d": 2\n  },\n  "b": 1\n}\n');
  });
});

describe('prescale prices refresh', () => {
  it('fetches, merges, writes the table sorted and prints the changes', async () => {
    const table = join(dir, 'ec2.json');
    const bundled = JSON.parse(readFileSync(join(ROOT, 'data', 'prices', 'ec2.json'), 'utf8')) as { onDemandUsdPerHour: Record<string, Record<string, number>> };
    writeFileSync(table, JSON.stringify(bundled));
    const oldM5 = bundled.onDemandUsdPerHour['us-east-1']!['m5.large']!;
    // Only the m5.large query has products: one that counts and one with SQL Server pre-installed, which is skipped.
    pricingMock.on(GetProductsCommand).callsFake((input: { Filters?: { Field?: string; Value?: string }[] }) =>
      input.Filters?.find((f) => f.Field === 'instanceType')?.Value === 'm5.large' ? { PriceList: [product('m5.large', '0.1'), product('m5.large', '0.2', { preInstalledSw: 'SQL Std' })] } : { PriceList: [] },
    );
    // The spot median of m5 in us-east-1: (0.03 + 0.05) / 2 = 0.04; 0.04 / 0.1 = 0.4.
    ec2Mock.on(DescribeSpotPriceHistoryCommand).resolves({
      SpotPriceHistory: [
        { AvailabilityZone: 'us-east-1a', InstanceType: 'm5.large', ProductDescription: 'Linux/UNIX', SpotPrice: '0.03' },
        { AvailabilityZone: 'us-east-1b', InstanceType: 'm5.large', ProductDescription: 'Linux/UNIX', SpotPrice: '0.05' },
      ],
    });
    const lines: string[] = [];
    const code = await pricesCommand(['refresh', '--config', EXAMPLE, '--table', table], { nowMs: NOW_MS, pricing: new PricingClient({ region: 'us-east-1' }), ec2For: (region) => new EC2Client({ region }), write: (t) => lines.push(t) });
    expect(code).toBe(0);
    const output = lines.join('');
    expect(output).toContain(`us-east-1 m5.large ${oldM5} → 0.1`);
    expect(output).toMatch(/spot us-east-1 m5 (new|[\d.]+) → 0\.4/);
    expect(output).toContain('1 product(s) skipped');
    expect(output).toContain(`wrote ${table}`);
    const written = readFileSync(table, 'utf8');
    expect(written).toBe(stableJson(JSON.parse(written)));
    const parsed = JSON.parse(written) as { asOf: string; onDemandUsdPerHour: Record<string, Record<string, number>>; spotPriceRatio: { byRegion: Record<string, Record<string, number>> } };
    expect(parsed.asOf).toBe('2026-11-02');
    expect(parsed.onDemandUsdPerHour['us-east-1']!['m5.large']).toBe(0.1);
    expect(parsed.spotPriceRatio.byRegion['us-east-1']!.m5).toBe(0.4);
  });

  it('loads a config the table cannot price yet, whose missing price it adds', async () => {
    const table = join(dir, 'ec2.json');
    writeFileSync(table, readFileSync(join(ROOT, 'data', 'prices', 'ec2.json'), 'utf8'));
    const config = join(dir, 'gpu.yaml');
    writeFileSync(config, readFileSync(EXAMPLE, 'utf8').replace('instanceTypes: [r5.xlarge, r5.2xlarge]', 'instanceTypes: [g5.xlarge]'));
    expect(() => loadConfigFile(config)).toThrow('nodeGroups[2] node group "memory": no on-demand price for g5.xlarge in us-east-1');
    pricingMock.on(GetProductsCommand).resolves({ PriceList: [product('g5.xlarge', '1.006')] });
    ec2Mock.on(DescribeSpotPriceHistoryCommand).resolves({ SpotPriceHistory: [] });
    const code = await pricesCommand(['refresh', '--config', config, '--table', table], { nowMs: NOW_MS, pricing: new PricingClient({ region: 'us-east-1' }), ec2For: (region) => new EC2Client({ region }), write: () => undefined });
    expect(code).toBe(0);
    expect(loadConfigFile(config, { priceTable: parsePriceTable(JSON.parse(readFileSync(table, 'utf8'))) }).nodeGroups[2]!.instanceTypes).toEqual(['g5.xlarge']);
  });

  it('--dry-run writes nothing', async () => {
    const table = join(dir, 'ec2.json');
    const original = readFileSync(join(ROOT, 'data', 'prices', 'ec2.json'), 'utf8');
    writeFileSync(table, original);
    pricingMock.on(GetProductsCommand).resolves({ PriceList: [product('m5.large', '0.123')] });
    ec2Mock.on(DescribeSpotPriceHistoryCommand).resolves({ SpotPriceHistory: [] });
    const lines: string[] = [];
    await pricesCommand(['refresh', '--config', EXAMPLE, '--table', table, '--dry-run'], { nowMs: NOW_MS, pricing: new PricingClient({ region: 'us-east-1' }), ec2For: (region) => new EC2Client({ region }), write: (t) => lines.push(t) });
    expect(lines.join('')).toContain('dry run: nothing written');
    expect(readFileSync(table, 'utf8')).toBe(original);
  });

  it('a missing --config or an unknown subcommand is a usage error (exit 2) through main', async () => {
    const stderr: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => stderr.push(chunk) > 0) as typeof process.stderr.write;
    try {
      expect(await main(['prices', 'refresh'])).toBe(2);
      expect(await main(['prices', 'bogus'])).toBe(2);
    } finally {
      process.stderr.write = original;
    }
    expect(stderr.join('')).toContain('--config is required');
    expect(stderr.join('')).toContain('unknown prices subcommand "bogus"');
  });
});
