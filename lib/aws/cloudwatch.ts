/**
 * MetricsSource over CloudWatch GetMetricData, and PutMetricData of forecasts
 * so users can chart prediction against reality.
 *
 * CloudWatch facts this file leans on (API reference, GetMetricData / PutMetricData):
 * - at most 500 MetricDataQueries per GetMetricData call, expression inputs included;
 * - results come newest first unless ScanBy is TimestampAscending;
 * - a page may end with StatusCode `PartialData` and a NextToken: keep paginating;
 * - retention: 1-minute data for 15 days, 5-minute for 63 days, 1-hour for 455 days,
 *   and a query reaching further back must use a period that is a multiple of
 *   300 s (past 15 days) or 3600 s (past 63 days); sub-minute data lasts 3 hours;
 * - EndTime is exclusive;
 * - PutMetricData: at most 1000 metrics per call (raised from 20 in 2023), 1 MB,
 *   no NaN/Infinity, timestamps from two weeks back to two hours ahead.
 */
import { GetMetricDataCommand, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import type { CloudWatchClient, MetricDataQuery, MetricDataResult, MetricDatum } from '@aws-sdk/client-cloudwatch';
import type { DemandHistory, Forecast } from '../core/forecast/types.ts';
import { PrescaleError, settledOrThrow } from '../errors.ts';
import type { Clock, DemandRequest, MetricQuery, MetricsSource } from '../ports.ts';
import { chunk } from './chunk.ts';
import { compareStrings } from '../core/canonical.ts';
import { choosePeriodSeconds, computeValueScale } from '../core/cloudwatch-retention.ts';
import { callAws } from './errors.ts';

export const MAX_QUERIES_PER_GET_METRIC_DATA = 500;
export const MAX_METRICS_PER_PUT_METRIC_DATA = 1000;
/** A runaway NextToken loop costs money (GetMetricData is billed per metric): stop well before. */
export const MAX_GET_METRIC_DATA_PAGES = 100;
export const FORECAST_NAMESPACE = 'Prescale';
export const FORECAST_METRIC_NAME = 'ForecastDemand';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** PutMetricData accepts timestamps up to two hours ahead… */
const PUT_MAX_AHEAD_MS = 2 * HOUR_MS;
/** …and up to two weeks back. */
const PUT_MAX_BEHIND_MS = 14 * DAY_MS;

/** An input of a metric-math expression; the expression's period applies to every input. */
export type MetricMathInput = Pick<MetricQuery, 'namespace' | 'name' | 'dimensions' | 'stat'>;

/**
 * A metric-math query: `expression` refers to `inputs` by their ids, e.g.
 * `{ expression: 'm1 + m2', inputs: { m1: …, m2: … } }`. With no inputs it may
 * be a SEARCH or a Metrics Insights query, which carries its own metrics.
 */
export interface MetricMathQuery {
  readonly expression: string;
  readonly inputs: Readonly<Record<string, MetricMathInput>>;
  readonly periodSeconds: number;
}

export type DemandQuery = MetricQuery | MetricMathQuery;

export function isMetricMathQuery(query: DemandQuery): query is MetricMathQuery {
  return 'expression' in query;
}

// ---------------------------------------------------------------- pure decisions

// The retention rules are shared with the simulated metrics (lib/sim/cloud.ts), so a backtest reads history as CloudWatch would serve it.
export { choosePeriodSeconds, computeValueScale, minimumPeriodSeconds } from '../core/cloudwatch-retention.ts';

export interface Grid {
  readonly startMs: number;
  readonly stepSeconds: number;
  readonly steps: number;
}

/** Points at multiples of the step from the first at or after `startMs`, up to `endMs` exclusive. */
export function computeGrid(startMs: number, endMs: number, stepSeconds: number): Grid {
  const stepMs = stepSeconds * 1000;
  const firstMs = Math.ceil(startMs / stepMs) * stepMs;
  return { startMs: firstMs, stepSeconds, steps: Math.max(0, Math.ceil((endMs - firstMs) / stepMs)) };
}

/** Datapoints into their grid cells; NaN where CloudWatch had none, out-of-range points dropped. */
export function placeOnGrid(grid: Grid, timestampsMs: readonly number[], values: readonly number[], scale = 1): number[] {
  const stepMs = grid.stepSeconds * 1000;
  const out = new Array<number>(grid.steps).fill(Number.NaN);
  timestampsMs.forEach((timestampMs, i) => {
    const index = Math.floor((timestampMs - grid.startMs) / stepMs);
    const value = values[i];
    if (index < 0 || index >= grid.steps || value === undefined) return;
    out[index] = value * scale;
  });
  return out;
}

/**
 * Prefixes the ids an expression refers to, so several expressions can share
 * one GetMetricData call (ids must be unique per call). Quoted strings (SEARCH
 * filters, labels) and numbers are left alone.
 */
export function namespaceExpression(expression: string, ids: ReadonlySet<string>, prefix: string): string {
  let out = '';
  let i = 0;
  while (i < expression.length) {
    const rest = expression.slice(i);
    const ch = expression[i]!;
    if (ch === '"' || ch === "'") {
      let end = i + 1;
      while (end < expression.length && expression[end] !== ch) end += expression[end] === '\\' ? 2 : 1;
      out += expression.slice(i, end + 1);
      i = end + 1;
      continue;
    }
    const token = /^[0-9][0-9.]*(?:[eE][+-]?[0-9]+)?/.exec(rest) ?? /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (token !== null) {
      out += ids.has(token[0]) && !/^[0-9]/.test(token[0]) ? prefix + token[0] : token[0];
      i += token[0].length;
      continue;
    }
    out += ch;
    i += 1;
  }
  return out;
}

const QUERY_ID = /^[a-z][a-zA-Z0-9_]*$/;

function metricStat(metric: MetricMathInput, periodSeconds: number): NonNullable<MetricDataQuery['MetricStat']> {
  return {
    Metric: {
      Namespace: metric.namespace,
      MetricName: metric.name,
      // Sorted so the request (and its log line) is the same on every run.
      Dimensions: Object.keys(metric.dimensions)
        .sort()
        .map((name) => ({ Name: name, Value: metric.dimensions[name]! })),
    },
    Period: periodSeconds,
    Stat: metric.stat,
  };
}

/** The MetricDataQueries for one demand query; the first returned id is `id`, the one read back. */
export function buildMetricDataQueries(query: DemandQuery, id: string, periodSeconds: number): MetricDataQuery[] {
  if (!isMetricMathQuery(query)) return [{ Id: id, MetricStat: metricStat(query, periodSeconds), ReturnData: true }];
  const inputIds = Object.keys(query.inputs).sort();
  for (const inputId of inputIds) {
    if (!QUERY_ID.test(inputId)) {
      throw new PrescaleError('validation', `metric math input id ${JSON.stringify(inputId)} must start with a lowercase letter and hold only letters, digits and _`);
    }
  }
  const prefix = `${id}_`;
  const expression: MetricDataQuery = {
    Id: id,
    Expression: namespaceExpression(query.expression, new Set(inputIds), prefix),
    ReturnData: true,
    // Plain math takes its period from its inputs; SEARCH and Metrics Insights need one of their own.
    ...(inputIds.length === 0 ? { Period: periodSeconds } : {}),
  };
  const inputs = inputIds.map((inputId): MetricDataQuery => ({ Id: prefix + inputId, MetricStat: metricStat(query.inputs[inputId]!, periodSeconds), ReturnData: false }));
  return [expression, ...inputs];
}

/** How many of the 500 query slots a demand query uses: itself plus its inputs. */
export function querySlots(query: DemandQuery): number {
  return isMetricMathQuery(query) ? 1 + Object.keys(query.inputs).length : 1;
}

/**
 * Greedy packing in order: an expression never leaves its inputs behind.
 * Sizes [300, 300, 200] with 500 slots → [[0], [1, 2]] (300 + 300 > 500; 300 + 200 = 500).
 */
export function packBatches(slots: readonly number[], maxSlots: number): number[][] {
  const batches: number[][] = [];
  let current: number[] = [];
  let used = 0;
  slots.forEach((size, index) => {
    if (size > maxSlots) throw new PrescaleError('validation', `a metric query needs ${size} GetMetricData slots, more than the ${maxSlots} one call allows`);
    if (used + size > maxSlots) {
      batches.push(current);
      current = [];
      used = 0;
    }
    current.push(index);
    used += size;
  });
  if (current.length > 0) batches.push(current);
  return batches;
}

/** `p95`, `p97.5`, `p2.5`: the Quantile dimension of a forecast level. */
export function quantileDimension(level: number): string {
  return `p${Number((level * 100).toFixed(3))}`;
}

export interface ForecastMetricsInput {
  readonly cluster: string;
  readonly service: string;
  readonly forecast: Forecast;
}

/**
 * One datum per (series, step) at the step's own time, so the forecast for
 * 10:05 lines up with the demand CloudWatch records at 10:05. Steps CloudWatch
 * would reject (NaN, beyond two hours ahead, older than two weeks) are dropped.
 * Sorted by cluster, service, quantile, time.
 */
export function buildForecastMetricData(inputs: readonly ForecastMetricsInput[], nowMs: number, metricName = FORECAST_METRIC_NAME): MetricDatum[] {
  const data: { key: string; timestampMs: number; datum: MetricDatum }[] = [];
  for (const { cluster, service, forecast } of inputs) {
    const series = [{ quantile: 'point', values: forecast.point }, ...forecast.quantiles.map((q) => ({ quantile: quantileDimension(q.level), values: q.values }))];
    for (const { quantile, values } of series) {
      values.forEach((value, step) => {
        const timestampMs = forecast.startMs + step * forecast.stepSeconds * 1000;
        if (!Number.isFinite(value) || timestampMs > nowMs + PUT_MAX_AHEAD_MS || timestampMs < nowMs - PUT_MAX_BEHIND_MS) return;
        data.push({
          key: `${cluster}\u0000${service}\u0000${quantile}`,
          timestampMs,
          datum: {
            MetricName: metricName,
            Dimensions: [
              { Name: 'Cluster', Value: cluster },
              { Name: 'Service', Value: service },
              { Name: 'Quantile', Value: quantile },
            ],
            Timestamp: new Date(timestampMs),
            Value: value,
            Unit: 'None',
          },
        });
      });
    }
  }
  data.sort((a, b) => compareStrings(a.key, b.key) || a.timestampMs - b.timestampMs);
  return data.map((d) => d.datum);
}


function describeQuery(query: DemandQuery): string {
  if (isMetricMathQuery(query)) return `expression ${JSON.stringify(query.expression)}`;
  const dims = Object.keys(query.dimensions)
    .sort()
    .map((k) => `${k}=${query.dimensions[k]}`)
    .join(',');
  return `${query.namespace}/${query.name}{${dims}} ${query.stat}`;
}

// ---------------------------------------------------------------- adapter

interface PlannedQuery {
  readonly index: number;
  readonly query: DemandQuery;
  readonly id: string;
  readonly grid: Grid;
  readonly scale: number;
}

export class CloudWatchMetrics implements MetricsSource {
  constructor(
    private readonly client: CloudWatchClient,
    private readonly clock: Clock,
  ) {}

  /**
   * Values are on a grid of `periodSeconds`, unless retention forced a coarser
   * period at `startMs`: then `stepSeconds` says which, and Sum/SampleCount are
   * scaled back to per-requested-period units (see computeValueScale).
   */
  async getDemand(query: MetricQuery, startMs: number, endMs: number): Promise<DemandHistory> {
    const [history] = await this.getDemandBatch([query], startMs, endMs);
    return history!;
  }

  /** Many queries over one window in as few calls as the 500-query limit allows; results in input order, or the first query's error. */
  async getDemandBatch(queries: readonly DemandQuery[], startMs: number, endMs: number): Promise<DemandHistory[]> {
    return (await this.settleBatch(queries, startMs, endMs)).map(settledOrThrow);
  }

  /**
   * MetricsSource's batch read: requests over the same window share
   * GetMetricData calls (one call covers one window). A query CloudWatch
   * refuses (its StatusCode) fails alone; a failed call fails the queries it carried.
   */
  async getDemandMany(requests: readonly DemandRequest[]): Promise<PromiseSettledResult<DemandHistory>[]> {
    const byWindow = new Map<string, number[]>();
    requests.forEach((request, index) => {
      const key = `${request.startMs}:${request.endMs}`;
      const indexes = byWindow.get(key);
      if (indexes === undefined) byWindow.set(key, [index]);
      else indexes.push(index);
    });
    const results = new Array<PromiseSettledResult<DemandHistory>>(requests.length);
    for (const indexes of byWindow.values()) {
      const { startMs, endMs } = requests[indexes[0]!]!;
      const settled = await this.settleBatch(indexes.map((i) => requests[i]!.query), startMs, endMs);
      indexes.forEach((requestIndex, k) => (results[requestIndex] = settled[k]!));
    }
    return results;
  }

  /** One result per query, in input order, each fulfilled or rejected on its own. */
  private async settleBatch(queries: readonly DemandQuery[], startMs: number, endMs: number): Promise<PromiseSettledResult<DemandHistory>[]> {
    const nowMs = this.clock.nowMs();
    const planned = queries.map((query, index): PlannedQuery => {
      const periodSeconds = choosePeriodSeconds(query.periodSeconds, startMs, nowMs);
      const scale = isMetricMathQuery(query) ? 1 : computeValueScale(query.stat, query.periodSeconds, periodSeconds);
      return { index, query, id: `q${index}`, grid: computeGrid(startMs, endMs, periodSeconds), scale };
    });
    // One call covers one grid: queries with different periods go to different calls,
    // so CloudWatch aligns every datapoint of a call to the same step.
    const byPeriod = new Map<number, PlannedQuery[]>();
    for (const p of planned) {
      const group = byPeriod.get(p.grid.stepSeconds);
      if (group === undefined) byPeriod.set(p.grid.stepSeconds, [p]);
      else group.push(p);
    }

    const results = new Array<PromiseSettledResult<DemandHistory>>(queries.length);
    for (const [periodSeconds, group] of [...byPeriod.entries()].sort(([a], [b]) => a - b)) {
      const grid = group[0]!.grid;
      for (const batch of packBatches(group.map((p) => querySlots(p.query)), MAX_QUERIES_PER_GET_METRIC_DATA)) {
        const members = batch.map((i) => group[i]!);
        let fetched: Fetched;
        try {
          fetched = await this.fetch(members, grid, periodSeconds);
        } catch (error) {
          for (const member of members) results[member.index] = { status: 'rejected', reason: error };
          continue;
        }
        for (const member of members) {
          const failure = fetched.failures.get(member.id);
          const points = fetched.series.get(member.id) ?? { timestampsMs: [], values: [] };
          results[member.index] =
            failure !== undefined
              ? { status: 'rejected', reason: failure }
              : { status: 'fulfilled', value: { startMs: grid.startMs, stepSeconds: periodSeconds, values: placeOnGrid(grid, points.timestampsMs, points.values, member.scale) } };
        }
      }
    }
    return results;
  }

  private async fetch(members: readonly PlannedQuery[], grid: Grid, periodSeconds: number): Promise<Fetched> {
    const fetched: Fetched = { series: new Map(), failures: new Map() };
    if (grid.steps === 0) return fetched;
    const metricDataQueries = members.flatMap((m) => buildMetricDataQueries(m.query, m.id, periodSeconds));
    const contextOf = (query: DemandQuery) => `CloudWatch GetMetricData ${describeQuery(query)}`;
    const context = members.length === 1 ? contextOf(members[0]!.query) : `CloudWatch GetMetricData ${members.length} queries`;
    const contextById = new Map(members.map((m) => [m.id, contextOf(m.query)]));
    let nextToken: string | undefined;
    let pages = 0;
    do {
      if (++pages > MAX_GET_METRIC_DATA_PAGES) {
        throw new PrescaleError('unavailable', `${context}: still paginating after ${MAX_GET_METRIC_DATA_PAGES} pages`, { retryable: true });
      }
      const output = await callAws(context, () =>
        this.client.send(
          new GetMetricDataCommand({
            MetricDataQueries: metricDataQueries,
            StartTime: new Date(grid.startMs),
            EndTime: new Date(grid.startMs + grid.steps * grid.stepSeconds * 1000),
            ScanBy: 'TimestampAscending',
            ...(nextToken === undefined ? {} : { NextToken: nextToken }),
          }),
        ),
      );
      for (const result of output.MetricDataResults ?? []) appendResult(fetched, result, contextById.get(result.Id ?? '') ?? context);
      // `PartialData` on a result means "more behind NextToken": the loop condition covers it.
      nextToken = output.NextToken;
    } while (nextToken !== undefined && nextToken !== '');
    // A failure on an id no member owns cannot be pinned on one query: the whole call fails.
    for (const [id, failure] of fetched.failures) if (!contextById.has(id)) throw failure;
    return fetched;
  }

  /** Publishes forecasts in calls of at most 1000 metrics; returns what was sent. */
  async putForecastMetrics(inputs: readonly ForecastMetricsInput[], options: { readonly metricName?: string } = {}): Promise<{ readonly datums: number; readonly calls: number }> {
    const data = buildForecastMetricData(inputs, this.clock.nowMs(), options.metricName);
    const batches = chunk(data, MAX_METRICS_PER_PUT_METRIC_DATA);
    for (const batch of batches) {
      await callAws(`CloudWatch PutMetricData ${FORECAST_NAMESPACE} (${batch.length} datums)`, () =>
        this.client.send(new PutMetricDataCommand({ Namespace: FORECAST_NAMESPACE, MetricData: batch })),
      );
    }
    return { datums: data.length, calls: batches.length };
  }
}

interface Fetched {
  readonly series: Map<string, { timestampsMs: number[]; values: number[] }>;
  /** Per query id, the first StatusCode CloudWatch refused it with. */
  readonly failures: Map<string, PrescaleError>;
}

function appendResult({ series, failures }: Fetched, result: MetricDataResult, context: string): void {
  const id = result.Id ?? '';
  const messages = (result.Messages ?? []).map((m) => `${m.Code ?? ''}: ${m.Value ?? ''}`);
  if (result.StatusCode === 'Forbidden' || result.StatusCode === 'InternalError') {
    if (!failures.has(id)) {
      failures.set(
        id,
        result.StatusCode === 'Forbidden'
          ? new PrescaleError('access-denied', `${context} failed: access denied to query ${id}`, { details: messages })
          : new PrescaleError('unavailable', `${context} failed: CloudWatch internal error on query ${id}`, { retryable: true, details: messages }),
      );
    }
    return;
  }
  const entry = series.get(id) ?? { timestampsMs: [], values: [] };
  const timestamps = result.Timestamps ?? [];
  const values = result.Values ?? [];
  timestamps.forEach((t, i) => {
    const value = values[i];
    if (value === undefined) return;
    entry.timestampsMs.push(t.getTime());
    entry.values.push(value);
  });
  series.set(id, entry);
}
