import { DescribeSpotPriceHistoryCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetProductsCommand, PricingClient } from '@aws-sdk/client-pricing';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { fetchOnDemandProducts, fetchSpotHistory, onDemandFilters, PRICING_API_REGION } from '../../../lib/aws/pricing.ts';
import { isPrescaleError } from '../../../lib/errors.ts';

const pricingMock = mockClient(PricingClient);
const ec2Mock = mockClient(EC2Client);
const NOW_MS = Date.UTC(2026, 10, 2, 14, 0, 0);

beforeEach(() => {
  pricingMock.reset();
  ec2Mock.reset();
});

describe('fetchOnDemandProducts', () => {
  it('queries AmazonEC2 per region and type with the Linux / Shared / NA / Used filters, following NextToken', async () => {
    pricingMock.on(GetProductsCommand).resolvesOnce({ PriceList: ['{"a":1}'], NextToken: 'page-2' }).resolvesOnce({ PriceList: ['{"a":2}'] }).resolves({ PriceList: ['{"b":1}'] });
    const products = await fetchOnDemandProducts(new PricingClient({ region: PRICING_API_REGION }), ['us-east-1'], ['m5.xlarge', 'm5.large']);
    expect(products).toEqual(['{"a":1}', '{"a":2}', '{"b":1}']);
    const inputs = pricingMock.commandCalls(GetProductsCommand).map((c) => c.args[0].input);
    const filters = (type: string) => [
      { Type: 'TERM_MATCH', Field: 'instanceType', Value: type },
      { Type: 'TERM_MATCH', Field: 'regionCode', Value: 'us-east-1' },
      { Type: 'TERM_MATCH', Field: 'operatingSystem', Value: 'Linux' },
      { Type: 'TERM_MATCH', Field: 'tenancy', Value: 'Shared' },
      { Type: 'TERM_MATCH', Field: 'preInstalledSw', Value: 'NA' },
      { Type: 'TERM_MATCH', Field: 'capacitystatus', Value: 'Used' },
    ];
    // Sorted: m5.large first, two pages; then m5.xlarge.
    expect(inputs).toEqual([
      { ServiceCode: 'AmazonEC2', FormatVersion: 'aws_v1', Filters: filters('m5.large'), MaxResults: 100 },
      { ServiceCode: 'AmazonEC2', FormatVersion: 'aws_v1', Filters: filters('m5.large'), MaxResults: 100, NextToken: 'page-2' },
      { ServiceCode: 'AmazonEC2', FormatVersion: 'aws_v1', Filters: filters('m5.xlarge'), MaxResults: 100 },
    ]);
    expect(onDemandFilters('eu-west-1', 'c5.2xlarge')).toEqual(filters('c5.2xlarge').map((f) => (f.Field === 'regionCode' ? { ...f, Value: 'eu-west-1' } : f)));
  });

  it('classifies an AWS error (throttling is retryable)', async () => {
    pricingMock.on(GetProductsCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }));
    const error = await fetchOnDemandProducts(new PricingClient({ region: PRICING_API_REGION }), ['us-east-1'], ['m5.large']).catch((e: unknown) => e);
    expect(isPrescaleError(error) && error.code).toBe('throttling');
  });
});

describe('fetchSpotHistory', () => {
  it('asks for Linux/UNIX over the last 30 days and pages', async () => {
    const at = new Date(NOW_MS - 3_600_000);
    ec2Mock
      .on(DescribeSpotPriceHistoryCommand)
      .resolvesOnce({ SpotPriceHistory: [{ AvailabilityZone: 'us-east-1a', InstanceType: 'm5.large', ProductDescription: 'Linux/UNIX', SpotPrice: '0.0365', Timestamp: at }], NextToken: 't2' })
      .resolvesOnce({ SpotPriceHistory: [{ AvailabilityZone: 'us-east-1b', InstanceType: 'm5.large', ProductDescription: 'Linux/UNIX', SpotPrice: '0.0401', Timestamp: at }], NextToken: '' });
    const entries = await fetchSpotHistory(new EC2Client({ region: 'us-east-1' }), ['m5.xlarge', 'm5.large'], NOW_MS);
    expect(entries.map((e) => e.SpotPrice)).toEqual(['0.0365', '0.0401']);
    const inputs = ec2Mock.commandCalls(DescribeSpotPriceHistoryCommand).map((c) => c.args[0].input);
    const first = {
      InstanceTypes: ['m5.large', 'm5.xlarge'],
      ProductDescriptions: ['Linux/UNIX'],
      // 30 days × 86 400 000 ms before now.
      StartTime: new Date(NOW_MS - 30 * 86_400_000),
      EndTime: new Date(NOW_MS),
      MaxResults: 1000,
    };
    expect(inputs).toEqual([first, { ...first, NextToken: 't2' }]);
  });
});
