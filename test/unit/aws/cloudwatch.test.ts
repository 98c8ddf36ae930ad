import { beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { CloudWatchClient, GetMetricDataCommand, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  buildForecastMetricData,
  buildMetricDataQueries,
  choosePeriodSeconds,
  CloudWatchMetrics,
  computeGrid,
  computeValueScale,
  namespaceExpression,
  packBatches,
  placeOnGrid,
  quantileDimension,
  type DemandQuery,
} from '../../../lib/aws/cloudwatch.ts';
import { accumulatesOverPeriod } from '../../../lib/core/cloudwatch-retention.ts';
import type { MetricQuery } from '../../../lib/ports.ts';
import type { Forecast } from '../../../lib/core/forecast/types.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);

const requests: MetricQuery = {
  namespace: 'AWS/ApplicationELB',
  name: 'RequestCount',
  dimensions: { TargetGroup: 'targetgroup/gateway/abc', LoadBalancer: 'app/prod/123' },
  stat: 'Sum',
  periodSeconds: 60,
};

const cw = mockClient(CloudWatchClient);
const clock = { nowMs: () => NOW };
let metrics: CloudWatchMetrics;

beforeEach(() => {
  cw.reset();
  metrics = new CloudWatchMetrics(new CloudWatchClient({ region: 'eu-west-1' }), clock);
});

describe('choosePeriodSeconds', () => {
  it.each<[string, number, number, number]>([
    // [case, requested s, age of start, chosen s]
    ['1-minute data inside 15 days stays 1 minute', 60, 14 * DAY, 60],
    ['exactly 15 days old is still 1-minute data', 60, 15 * DAY, 60],
    ['past 15 days needs 300 s', 60, 15 * DAY + MIN, 300],
    ['120 s past 15 days rounds up to 300 s', 120, 16 * DAY, 300],
    ['600 s past 15 days is a multiple of 300: kept', 600, 20 * DAY, 600],
    ['420 s past 15 days rounds up to 600 s (2 × 300)', 420, 20 * DAY, 600],
    ['past 63 days needs 3600 s', 60, 63 * DAY + MIN, 3600],
    ['900 s past 63 days rounds up to 3600 s', 900, 70 * DAY, 3600],
    ['7200 s past 63 days is a multiple of 3600: kept', 7200, 100 * DAY, 7200],
    ['300 s inside 15 days is kept', 300, 1 * DAY, 300],
    ['90 s rounds up to 120 s (a multiple of 60)', 90, 1 * DAY, 120],
    ['10 s high-resolution inside 3 hours is kept', 10, 2 * HOUR, 10],
    ['10 s past 3 hours needs 60 s', 10, 4 * HOUR, 60],
  ])('%s', (_case, requested, ageMs, chosen) => {
    expect(choosePeriodSeconds(requested, NOW - ageMs, NOW)).toBe(chosen);
  });
});

describe('pure helpers', () => {
  it.each<[string, number, number, number]>([
    ['Sum', 60, 300, 0.2], // 5-minute sums hold 5 one-minute sums: 60 / 300
    ['SampleCount', 60, 3600, 1 / 60],
    ['Average', 60, 300, 1],
    ['p95', 60, 300, 1],
    ['Sum', 60, 60, 1],
    ['TS(10%:90%)', 60, 300, 0.2], // a trimmed sum adds up like a sum: 60 / 300
  ])('computeValueScale(%s, %i, %i) = %d', (stat, requested, actual, scale) => {
    expect(computeValueScale(stat, requested, actual)).toBeCloseTo(scale, 12);
  });

  it.each<[string, boolean]>([
    ['Sum', true],
    ['sum', true],
    ['SampleCount', true],
    ['TS(10%:90%)', true], // trimmed sum
    ['ts99', true],
    ['TC(:0.5)', true], // trimmed count
    ['tc90', true],
    ['Average', false],
    ['Maximum', false],
    ['Minimum', false],
    ['p99', false],
    ['TM(10%:90%)', false], // trimmed mean
    ['tm99', false],
    ['IQM', false],
    ['WM(10%:90%)', false],
    ['PR(100:2000)', false], // percentile rank: a share, not a total
    ['Summary', false], // not a statistic; must not match by prefix
  ])('accumulatesOverPeriod(%s) = %s', (stat, expected) => {
    expect(accumulatesOverPeriod(stat)).toBe(expected);
  });

  it('computeGrid starts at the first step at or after start, end exclusive', () => {
    // start 12:00:30 → first point 12:01; end 12:05 → 12:01..12:04 = 4 steps
    expect(computeGrid(NOW + 30_000, NOW + 5 * MIN, 60)).toEqual({ startMs: NOW + MIN, stepSeconds: 60, steps: 4 });
    expect(computeGrid(NOW, NOW, 60).steps).toBe(0);
  });

  it('placeOnGrid leaves NaN in gaps and drops points outside', () => {
    const grid = { startMs: NOW, stepSeconds: 60, steps: 4 };
    const values = placeOnGrid(grid, [NOW - MIN, NOW, NOW + 2 * MIN, NOW + 4 * MIN], [9, 1, 3, 9], 2);
    expect(values).toEqual([2, Number.NaN, 6, Number.NaN]);
  });

  it.each<[string, string[], string]>([
    ['m1 + m2', ['m1', 'm2'], 'q3_m1 + q3_m2'],
    ['SUM([m1, m2]) / 60', ['m1', 'm2'], 'SUM([q3_m1, q3_m2]) / 60'],
    ['FILL(m1, 0) * 1e5', ['m1', 'e5'], 'FILL(q3_m1, 0) * 1e5'],
    [`SEARCH('{AWS/EC2,InstanceId} MetricName="m1"', 'Average', 300)`, ['m1'], `SEARCH('{AWS/EC2,InstanceId} MetricName="m1"', 'Average', 300)`],
    ['m10 - m1', ['m1'], 'm10 - q3_m1'],
  ])('namespaceExpression(%s)', (expression, ids, expected) => {
    expect(namespaceExpression(expression, new Set(ids), 'q3_')).toBe(expected);
  });

  it('packBatches never splits a query from its inputs', () => {
    // 300 + 300 > 500 → new batch; 300 + 200 = 500 fits
    expect(packBatches([300, 300, 200], 500)).toEqual([[0], [1, 2]]);
    expect(packBatches([1, 1, 1], 2)).toEqual([[0, 1], [2]]);
    expect(() => packBatches([501], 500)).toThrow(/501 GetMetricData slots/);
  });

  it.each([
    [0.5, 'p50'],
    [0.95, 'p95'],
    [0.975, 'p97.5'],
    [0.025, 'p2.5'],
    [0.99, 'p99'],
  ])('quantileDimension(%d) = %s', (level, name) => {
    expect(quantileDimension(level)).toBe(name);
  });

  it('buildMetricDataQueries: a metric with sorted dimensions', () => {
    expect(buildMetricDataQueries(requests, 'q0', 60)).toEqual([
      {
        Id: 'q0',
        MetricStat: {
          Metric: {
            Namespace: 'AWS/ApplicationELB',
            MetricName: 'RequestCount',
            Dimensions: [
              { Name: 'LoadBalancer', Value: 'app/prod/123' },
              { Name: 'TargetGroup', Value: 'targetgroup/gateway/abc' },
            ],
          },
          Period: 60,
          Stat: 'Sum',
        },
        ReturnData: true,
      },
    ]);
  });

  it('buildMetricDataQueries: an expression returns only its result; inputs are hidden and namespaced', () => {
    const query: DemandQuery = {
      expression: 'm1 + m2',
      inputs: { m2: { ...requests, dimensions: { LoadBalancer: 'app/b/2' } }, m1: { ...requests, dimensions: { LoadBalancer: 'app/a/1' } } },
      periodSeconds: 60,
    };
    expect(buildMetricDataQueries(query, 'q1', 300)).toEqual([
      { Id: 'q1', Expression: 'q1_m1 + q1_m2', ReturnData: true },
      {
        Id: 'q1_m1',
        MetricStat: { Metric: { Namespace: 'AWS/ApplicationELB', MetricName: 'RequestCount', Dimensions: [{ Name: 'LoadBalancer', Value: 'app/a/1' }] }, Period: 300, Stat: 'Sum' },
        ReturnData: false,
      },
      {
        Id: 'q1_m2',
        MetricStat: { Metric: { Namespace: 'AWS/ApplicationELB', MetricName: 'RequestCount', Dimensions: [{ Name: 'LoadBalancer', Value: 'app/b/2' }] }, Period: 300, Stat: 'Sum' },
        ReturnData: false,
      },
    ]);
  });

  it('buildMetricDataQueries: a Metrics Insights query carries its own period', () => {
    const query: DemandQuery = { expression: 'SELECT SUM(RequestCount) FROM "AWS/ApplicationELB"', inputs: {}, periodSeconds: 60 };
    expect(buildMetricDataQueries(query, 'q0', 60)).toEqual([{ Id: 'q0', Expression: 'SELECT SUM(RequestCount) FROM "AWS/ApplicationELB"', ReturnData: true, Period: 60 }]);
  });

  it('buildMetricDataQueries rejects an input id CloudWatch would reject', () => {
    expect(() => buildMetricDataQueries({ expression: 'M1', inputs: { M1: requests }, periodSeconds: 60 }, 'q0', 60)).toThrow(/must start with a lowercase letter/);
  });
});

describe('CloudWatchMetrics.getDemand', () => {
  it('sends the exact GetMetricData input: aligned window, ascending scan', async () => {
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'q0', StatusCode: 'Complete', Timestamps: [], Values: [] }] });
    await metrics.getDemand(requests, NOW - 10 * MIN + 5_000, NOW);
    const calls = cw.commandCalls(GetMetricDataCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toEqual({
      MetricDataQueries: buildMetricDataQueries(requests, 'q0', 60),
      // start 11:50:05 → first whole minute 11:51; end 12:00 exclusive: 9 points
      StartTime: new Date(NOW - 9 * MIN),
      EndTime: new Date(NOW),
      ScanBy: 'TimestampAscending',
    });
  });

  it('follows NextToken through PartialData pages and places points on the grid with NaN gaps', async () => {
    const t = (minutesAgo: number) => new Date(NOW - minutesAgo * MIN);
    cw.on(GetMetricDataCommand)
      .resolvesOnce({ MetricDataResults: [{ Id: 'q0', StatusCode: 'PartialData', Timestamps: [t(5), t(4)], Values: [10, 11] }], NextToken: 'page-2' })
      .resolvesOnce({ MetricDataResults: [{ Id: 'q0', StatusCode: 'PartialData', Timestamps: [t(2)], Values: [13] }], NextToken: 'page-3' })
      .resolvesOnce({ MetricDataResults: [{ Id: 'q0', StatusCode: 'Complete', Timestamps: [t(1)], Values: [14] }] });
    const history = await metrics.getDemand(requests, NOW - 5 * MIN, NOW);
    expect(history.startMs).toBe(NOW - 5 * MIN);
    expect(history.stepSeconds).toBe(60);
    // minutes -5, -4, -3 (missing), -2, -1
    expect(history.values).toEqual([10, 11, Number.NaN, 13, 14]);
    const calls = cw.commandCalls(GetMetricDataCommand);
    expect(calls.map((c) => c.args[0].input.NextToken)).toEqual([undefined, 'page-2', 'page-3']);
  });

  it('coarsens the period for an old window and scales sums back to the requested period', async () => {
    const start = NOW - 20 * DAY;
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'q0', StatusCode: 'Complete', Timestamps: [new Date(start)], Values: [500] }] });
    const history = await metrics.getDemand(requests, start, start + 15 * MIN);
    const input = cw.commandCalls(GetMetricDataCommand)[0]!.args[0].input;
    expect(input.MetricDataQueries![0]!.MetricStat!.Period).toBe(300);
    expect(history.stepSeconds).toBe(300);
    // 500 requests per 5 minutes = 100 per requested 1-minute period; 15 min / 5 = 3 points
    expect(history.values).toEqual([100, Number.NaN, Number.NaN]);
  });

  it('throws a classified error on throttling', async () => {
    cw.on(GetMetricDataCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } }));
    await expect(metrics.getDemand(requests, NOW - 5 * MIN, NOW)).rejects.toMatchObject({
      code: 'throttling',
      retryable: true,
      message: expect.stringContaining('CloudWatch GetMetricData AWS/ApplicationELB/RequestCount{LoadBalancer=app/prod/123,TargetGroup=targetgroup/gateway/abc} Sum failed'),
    });
  });

  it.each([
    ['Forbidden', 'access-denied', false],
    ['InternalError', 'unavailable', true],
  ] as const)('turns a result StatusCode %s into %s', async (statusCode, code, retryable) => {
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'q0', StatusCode: statusCode }] });
    await expect(metrics.getDemand(requests, NOW - 5 * MIN, NOW)).rejects.toMatchObject({ code, retryable });
  });

  it('makes no call for an empty window', async () => {
    const history = await metrics.getDemand(requests, NOW, NOW);
    expect(history.values).toEqual([]);
    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(0);
  });
});

describe('CloudWatchMetrics.getDemandBatch', () => {
  it('splits 1201 queries into calls of at most 500 and returns them in input order', async () => {
    const queries = Array.from({ length: 1201 }, (_, i): MetricQuery => ({ ...requests, dimensions: { TargetGroup: `tg-${i}` } }));
    cw.on(GetMetricDataCommand).callsFake((input: { MetricDataQueries: { Id: string }[] }) => ({
      MetricDataResults: input.MetricDataQueries.map((q) => ({ Id: q.Id, StatusCode: 'Complete', Timestamps: [new Date(NOW - MIN)], Values: [Number(q.Id.slice(1))] })),
    }));
    const histories = await metrics.getDemandBatch(queries, NOW - 2 * MIN, NOW);
    const calls = cw.commandCalls(GetMetricDataCommand);
    // 1201 = 500 + 500 + 201
    expect(calls.map((c) => c.args[0].input.MetricDataQueries!.length)).toEqual([500, 500, 201]);
    expect(histories).toHaveLength(1201);
    expect(histories[0]!.values).toEqual([Number.NaN, 0]);
    expect(histories[1200]!.values).toEqual([Number.NaN, 1200]);
  });

  it('counts expression inputs against the 500 and keeps each expression with its inputs', async () => {
    const expression = (i: number): DemandQuery => ({
      expression: 'a + b',
      inputs: { a: { ...requests, dimensions: { TargetGroup: `a-${i}` } }, b: { ...requests, dimensions: { TargetGroup: `b-${i}` } } },
      periodSeconds: 60,
    });
    // 167 expressions × 3 slots = 501 > 500: 166 (498 slots) + 1
    const queries = Array.from({ length: 167 }, (_, i) => expression(i));
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
    await metrics.getDemandBatch(queries, NOW - 2 * MIN, NOW);
    const calls = cw.commandCalls(GetMetricDataCommand);
    expect(calls.map((c) => c.args[0].input.MetricDataQueries!.length)).toEqual([498, 3]);
    expect(calls[1]!.args[0].input.MetricDataQueries!.map((q) => q.Id)).toEqual(['q166', 'q166_a', 'q166_b']);
  });

  it('puts queries with different periods in different calls', async () => {
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
    const histories = await metrics.getDemandBatch([requests, { ...requests, periodSeconds: 300 }], NOW - 10 * MIN, NOW);
    const calls = cw.commandCalls(GetMetricDataCommand);
    expect(calls.map((c) => c.args[0].input.MetricDataQueries!.map((q) => [q.Id, q.MetricStat!.Period]))).toEqual([[['q0', 60]], [['q1', 300]]]);
    expect(histories.map((h) => [h.stepSeconds, h.values.length])).toEqual([
      [60, 10],
      [300, 2],
    ]);
  });
});

describe('CloudWatchMetrics.getDemandMany', () => {
  const service = (i: number): MetricQuery => ({ ...requests, dimensions: { TargetGroup: `tg-${i}` } });
  /** Each query's value is its own index, at the last full minute. */
  const echo = (input: { MetricDataQueries: { Id: string }[] }) => ({
    MetricDataResults: input.MetricDataQueries.map((q) => ({ Id: q.Id, StatusCode: 'Complete', Timestamps: [new Date(NOW - MIN)], Values: [Number(q.Id.slice(1))] })),
  });

  it('reads N services with one GetMetricData and returns them in request order', async () => {
    cw.on(GetMetricDataCommand).callsFake(echo);
    const results = await metrics.getDemandMany([0, 1, 2, 3].map((i) => ({ query: service(i), startMs: NOW - 2 * MIN, endMs: NOW })));
    const calls = cw.commandCalls(GetMetricDataCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input.MetricDataQueries!.map((q) => q.MetricStat!.Metric!.Dimensions![0]!.Value)).toEqual(['tg-0', 'tg-1', 'tg-2', 'tg-3']);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value.values : r.status))).toEqual([
      [Number.NaN, 0],
      [Number.NaN, 1],
      [Number.NaN, 2],
      [Number.NaN, 3],
    ]);
  });

  it('requests over different windows go to different calls, results still in request order', async () => {
    cw.on(GetMetricDataCommand).callsFake(echo);
    const results = await metrics.getDemandMany([
      { query: service(0), startMs: NOW - 2 * MIN, endMs: NOW },
      { query: service(1), startMs: NOW - 3 * MIN, endMs: NOW },
      { query: service(2), startMs: NOW - 2 * MIN, endMs: NOW },
    ]);
    const calls = cw.commandCalls(GetMetricDataCommand);
    expect(calls.map((c) => [c.args[0].input.StartTime!.getTime() - NOW, c.args[0].input.MetricDataQueries!.length])).toEqual([
      [-2 * MIN, 2],
      [-3 * MIN, 1],
    ]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value.values : r.status))).toEqual([
      [Number.NaN, 0],
      [Number.NaN, Number.NaN, 0],
      [Number.NaN, 1],
    ]);
  });

  it('a series CloudWatch refuses fails alone, with the error getDemand would throw for it', async () => {
    cw.on(GetMetricDataCommand).callsFake((input: { MetricDataQueries: { Id: string }[] }) => ({
      MetricDataResults: echo(input).MetricDataResults.map((r) => (r.Id === 'q1' ? { Id: 'q1', StatusCode: 'Forbidden' } : r)),
    }));
    const results = await metrics.getDemandMany([0, 1, 2].map((i) => ({ query: service(i), startMs: NOW - 2 * MIN, endMs: NOW })));
    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(1);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(results[2]).toEqual({ status: 'fulfilled', value: { startMs: NOW - 2 * MIN, stepSeconds: 60, values: [Number.NaN, 2] } });
    expect(results[1]).toMatchObject({
      status: 'rejected',
      reason: { code: 'access-denied', retryable: false, message: expect.stringContaining('CloudWatch GetMetricData AWS/ApplicationELB/RequestCount{TargetGroup=tg-1} Sum failed') },
    });
  });

  it('a failed call fails every series it carried', async () => {
    cw.on(GetMetricDataCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } }));
    const results = await metrics.getDemandMany([0, 1].map((i) => ({ query: service(i), startMs: NOW - 2 * MIN, endMs: NOW })));
    expect(results).toMatchObject([
      { status: 'rejected', reason: { code: 'throttling', retryable: true } },
      { status: 'rejected', reason: { code: 'throttling', retryable: true } },
    ]);
  });
});

describe('putForecastMetrics', () => {
  const forecast: Forecast = {
    model: 'ets',
    startMs: NOW + MIN,
    stepSeconds: 60,
    point: [100, 110, Number.NaN],
    quantiles: [
      { level: 0.5, values: [100, 110, 120] },
      { level: 0.95, values: [130, 140, 150] },
    ],
  };

  it('builds one datum per series and step, dimensions Cluster/Service/Quantile, NaN dropped, sorted', () => {
    const data = buildForecastMetricData([{ cluster: 'prod', service: 'gateway', forecast }], NOW);
    expect(data.map((d) => [d.Dimensions![2]!.Value, d.Timestamp!.getTime() - NOW, d.Value])).toEqual([
      ['p50', MIN, 100],
      ['p50', 2 * MIN, 110],
      ['p50', 3 * MIN, 120],
      ['p95', MIN, 130],
      ['p95', 2 * MIN, 140],
      ['p95', 3 * MIN, 150],
      ['point', MIN, 100],
      ['point', 2 * MIN, 110],
    ]);
    expect(data[0]).toEqual({
      MetricName: 'ForecastDemand',
      Dimensions: [
        { Name: 'Cluster', Value: 'prod' },
        { Name: 'Service', Value: 'gateway' },
        { Name: 'Quantile', Value: 'p50' },
      ],
      Timestamp: new Date(NOW + MIN),
      Value: 100,
      Unit: 'None',
    });
  });

  it('drops steps more than two hours ahead (CloudWatch rejects them)', () => {
    const long: Forecast = { ...forecast, point: Array.from({ length: 180 }, () => 1), quantiles: [] };
    // steps at +1 … +180 min; +1 … +120 are within two hours
    expect(buildForecastMetricData([{ cluster: 'prod', service: 'gateway', forecast: long }], NOW)).toHaveLength(120);
  });

  it('sends at most 1000 metrics per PutMetricData call', async () => {
    cw.on(PutMetricDataCommand).resolves({});
    const big: Forecast = { ...forecast, point: Array.from({ length: 100 }, (_, i) => i), quantiles: [] };
    // 25 services × 100 steps = 2500 datums → 1000 + 1000 + 500
    const inputs = Array.from({ length: 25 }, (_, i) => ({ cluster: 'prod', service: `svc-${String(i).padStart(2, '0')}`, forecast: big }));
    const result = await metrics.putForecastMetrics(inputs);
    const calls = cw.commandCalls(PutMetricDataCommand);
    expect(result).toEqual({ datums: 2500, calls: 3 });
    expect(calls.map((c) => [c.args[0].input.Namespace, c.args[0].input.MetricData!.length])).toEqual([
      ['Prescale', 1000],
      ['Prescale', 1000],
      ['Prescale', 500],
    ]);
  });

  it('sends the exact datums for a small forecast', async () => {
    cw.on(PutMetricDataCommand).resolves({});
    await metrics.putForecastMetrics([{ cluster: 'prod', service: 'gateway', forecast }]);
    expect(cw.commandCalls(PutMetricDataCommand)[0]!.args[0].input).toEqual({
      Namespace: 'Prescale',
      MetricData: buildForecastMetricData([{ cluster: 'prod', service: 'gateway', forecast }], NOW),
    });
  });
});
