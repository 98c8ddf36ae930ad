/**
 * The forecasting engine: prepare the history (calendar, gaps, downsampling),
 * run every candidate model at rolling validation origins on the series'
 * own history, combine the best few, and turn the combination's
 * out-of-sample residuals into calibrated quantiles.
 *
 * Fallback chain by history length (in internal steps, H = horizon):
 *   ≥ one day + H  → seasonal candidates (those whose minimum fits),
 *   ≥ 16 + H       → damped Holt / last value, validated,
 *   otherwise      → last value with wide, normal-shaped intervals.
 */
import { eventMultipliers, holidayWeeklyPhase } from './calendar.ts';
import { fitResidualModel, quantileOffsets } from './conformal.ts';
import type { ResidualModel } from './conformal.ts';
import { dampedHolt, defaultSeasonalModels, lastValue } from './models.ts';
import type { ModelMemo, PointModel, SeasonContext } from './models.ts';
import { median, quantileSorted } from './numeric.ts';
import { chooseDownsampleFactor, deviationsAboutStepMeans, downsampleMean, FINE_SPREAD_DAYS, fillGaps, finerDeviations, firstFiniteIndex, NO_STEP_SPREAD, seasonSteps, upsampleLinear } from './prepare.ts';
import type { StepSpread } from './prepare.ts';
import type { DemandHistory, Forecast, Forecaster, ForecastRequest, QuantileSeries } from './types.ts';
import { historyEndMs } from './types.ts';

export interface ForecasterOptions {
  /** Seasonal candidate models; default `defaultSeasonalModels()`. */
  readonly models?: readonly PointModel[];
  /** At most this many of the best-validated models are averaged. Default 5. */
  readonly combineTop?: number;
  /** …and only those whose validation error is within this fraction of the best one's. Default 0.2. */
  readonly combineTolerance?: number;
  /** Rolling validation origins. Default 12. */
  readonly validationOrigins?: number;
  /**
   * Origins one day apart, so each sits at the same time of day as the
   * forecast origin (true, default), or a little over a day apart, walking
   * through every time of day (false).
   */
  readonly samePhaseOrigins?: boolean;
  /** Weight of the j-th most recent origin's error is originDecay^j. Default 0.9. */
  readonly originDecay?: number;
  /** Longer histories are downsampled to at most this many internal points. Default 2100. */
  readonly maxInternalPoints?: number;
  /** Seasons that shape the seasonal profiles. Defaults 7 days, 3 weeks. */
  readonly recentDays?: number;
  readonly recentWeeks?: number;
  /** Remainder outliers beyond this many robust σ (and half the typical level) are clipped. Default 8. */
  readonly clipSigmas?: number;
  /**
   * Widening of the validated intervals: residuals come from a dozen origins
   * in one recent stretch, which under-represents regime changes. Default 1.1
   * (measured on M4 hourly: 1.0 covers 92 %, 1.1 covers 94 %).
   */
  readonly intervalWiden?: number;
  /** Interval widening for the last-value fallback (no validation possible). Default 2. */
  readonly fallbackWiden?: number;
}

type ResolvedOptions = Required<ForecasterOptions>;

function resolve(options: ForecasterOptions | undefined): ResolvedOptions {
  return {
    models: options?.models ?? defaultSeasonalModels(),
    combineTop: options?.combineTop ?? 5,
    combineTolerance: options?.combineTolerance ?? 0.2,
    validationOrigins: options?.validationOrigins ?? 12,
    samePhaseOrigins: options?.samePhaseOrigins ?? true,
    originDecay: options?.originDecay ?? 0.9,
    maxInternalPoints: options?.maxInternalPoints ?? 2100,
    recentDays: options?.recentDays ?? 7,
    recentWeeks: options?.recentWeeks ?? 3,
    clipSigmas: options?.clipSigmas ?? 8,
    intervalWiden: options?.intervalWiden ?? 1.1,
    fallbackWiden: options?.fallbackWiden ?? 2,
  };
}

/** The history as the models see it. */
interface Prepared {
  /** Internal (possibly downsampled) series, gap-free, events divided out. */
  readonly series: Float64Array;
  readonly factor: number;
  readonly internalHorizonSteps: number;
  readonly context: SeasonContext;
  /** Signed deviations of original points from their bucket's mean (empty when factor 1). */
  readonly withinBucket: Float64Array;
  /** Mean square of original points about the line through their bucket means (0 when factor 1): noise the buckets average away. */
  readonly fineNoiseVariance: number;
  /**
   * The request's finer history about the history's own steps (finerDeviations,
   * events divided out): empty when there is none, or it is not finer.
   */
  readonly finer: StepSpread;
  readonly nonNegative: boolean;
}

function prepare(request: ForecastRequest, options: ResolvedOptions): Prepared | undefined {
  const { history, horizonSteps, calendar } = request;
  const first = firstFiniteIndex(history.values);
  if (first < 0) return undefined;
  const stepMs = history.stepSeconds * 1000;
  const { values: descaled } = descaledByEvents({ startMs: history.startMs + first * stepMs, stepSeconds: history.stepSeconds, values: history.values.slice(first) }, calendar);
  let nonNegative = true;
  for (const v of descaled) if (v < 0) nonNegative = false;
  const original = fillGaps(descaled, seasonSteps(history.stepSeconds).dailySteps);
  const factor = chooseDownsampleFactor(history.stepSeconds, original.length, horizonSteps, options.maxInternalPoints);
  const series = downsampleMean(original, factor);
  const internalStepSeconds = history.stepSeconds * factor;
  const dropped = original.length - series.length * factor;
  const internalStartMs = history.startMs + (first + dropped) * stepMs;
  const internalHorizonSteps = factor > 1 ? Math.ceil(horizonSteps / factor) + 1 : horizonSteps;
  const { dailySteps, weeklySteps } = seasonSteps(internalStepSeconds);
  const withinBucket = withinBucketDeviations(original, series, factor, dailySteps);
  const fineNoiseVariance = fineNoiseVarianceOf(original, series, factor, dailySteps);
  const fine = request.fineHistory;
  const finer = fine === undefined ? NO_STEP_SPREAD : finerDeviations(descaledByEvents(fine, calendar), history.startMs, history.stepSeconds);
  return {
    series,
    factor,
    internalHorizonSteps,
    withinBucket,
    fineNoiseVariance,
    finer,
    nonNegative,
    context: {
      dailySteps,
      weeklySteps,
      weeklyPhase: holidayWeeklyPhase(calendar, internalStartMs, internalStepSeconds, series.length + internalHorizonSteps, dailySteps, weeklySteps),
      recentDays: options.recentDays,
      recentWeeks: options.recentWeeks,
      clipSigmas: options.clipSigmas,
    },
  };
}

/** A history with calendar events divided out, as the models see theirs. */
function descaledByEvents(history: DemandHistory, calendar: ForecastRequest['calendar']): DemandHistory {
  const multipliers = eventMultipliers(calendar, history.startMs, history.stepSeconds, history.values.length);
  return { ...history, values: history.values.map((v, i) => v / multipliers[i]!) };
}

/**
 * Noise the bucket means average away, as a variance, over the last two
 * days: each original point against the straight line through its
 * neighbouring buckets' means (placed at their centres), the line the
 * upsampled forecast follows. Against the bucket's own mean a ramp inside
 * the bucket would count as noise (a noise-free daily wave read as σ ≈ 5
 * on a level of 1000 at 5-minute data).
 */
export function fineNoiseVarianceOf(original: Float64Array, buckets: Float64Array, factor: number, internalDailySteps: number): number {
  if (factor <= 1 || buckets.length < 2) return 0;
  const { offset, firstBucket } = recentBuckets(original, buckets, factor, internalDailySteps);
  let sumSquares = 0;
  let count = 0;
  for (let i = offset + firstBucket * factor; i < original.length; i++) {
    // Fractional bucket index of point i (bucket b's mean sits at its centre, b + (factor − 1) / 2 / factor).
    const position = (i - offset - (factor - 1) / 2) / factor;
    // The first and last half buckets extend the line through their two nearest means.
    const j = Math.min(Math.max(0, Math.floor(position)), buckets.length - 2);
    const w = position - j;
    const line = buckets[j]! * (1 - w) + buckets[j + 1]! * w;
    const deviation = original[i]! - line;
    sumSquares += deviation * deviation;
    count++;
  }
  return count === 0 ? 0 : sumSquares / count;
}

/**
 * Where the fine-noise measures look: the last two days of buckets.
 * `offset` is how many leading original points downsampling dropped, so
 * bucket b holds original[offset + b × factor, offset + (b + 1) × factor).
 */
function recentBuckets(original: Float64Array, buckets: Float64Array, factor: number, internalDailySteps: number): { offset: number; firstBucket: number } {
  return { offset: original.length - buckets.length * factor, firstBucket: Math.max(0, buckets.length - FINE_SPREAD_DAYS * internalDailySteps) };
}

/** Noise the bucket means average away, measured over the last two days; it goes back into the intervals. */
function withinBucketDeviations(original: Float64Array, buckets: Float64Array, factor: number, internalDailySteps: number): Float64Array {
  if (factor <= 1) return new Float64Array(0);
  const { offset, firstBucket } = recentBuckets(original, buckets, factor, internalDailySteps);
  return deviationsAboutStepMeans(original.subarray(offset + firstBucket * factor), factor).deviations;
}

/** Every candidate's forecasts at each origin, plus its validation error. */
interface Validation {
  readonly model: PointModel;
  /** Forecast per origin (rows aligned with `origins`). */
  readonly atOrigins: Float64Array[];
  /** Mean absolute error per origin. */
  readonly errorsAtOrigins: number[];
}

function validationOrigins(length: number, horizonSteps: number, dailySteps: number, count: number, minSteps: number, samePhase: boolean): number[] {
  // A day apart keeps every origin at the forecast origin's time of day (measured
  // on M4 hourly, where series end at varied hours); a little over a day walks
  // the origins through every time of day.
  const spacing = Math.max(1, samePhase ? dailySteps : Math.round(dailySteps * (1 + 1 / count)));
  const origins: number[] = [];
  for (let j = 0; j < count; j++) {
    const origin = length - horizonSteps - j * spacing;
    if (origin < minSteps) break;
    origins.push(origin);
  }
  return origins;
}

function validate(models: readonly PointModel[], series: Float64Array, horizonSteps: number, context: SeasonContext, origins: readonly number[]): Validation[] {
  const forecasts = models.map(() => [] as Float64Array[]);
  const errors = models.map(() => [] as number[]);
  for (const origin of origins) {
    const memo: ModelMemo = new Map();
    const prefix = series.subarray(0, origin);
    models.forEach((model, m) => {
      const predicted = model.predict(prefix, horizonSteps, context, memo);
      forecasts[m]!.push(predicted);
      let sum = 0;
      for (let h = 0; h < horizonSteps; h++) sum += Math.abs(series[origin + h]! - predicted[h]!);
      errors[m]!.push(sum / horizonSteps);
    });
  }
  return models.map((model, m) => ({ model, atOrigins: forecasts[m]!, errorsAtOrigins: errors[m]! }));
}

/**
 * The best few models by validation error weighted towards recent origins
 * (origin j, most recent first, weighs originDecay^j; origin `skipOrigin` is
 * left out when ≥ 0): at most `combineTop`, and only those within
 * `combineTolerance` of the best. Ties break by name so the choice is deterministic.
 */
function chooseCombination(validations: readonly Validation[], originCount: number, skipOrigin: number, options: ResolvedOptions): Validation[] {
  const score = (v: Validation): number => {
    let sum = 0;
    let weight = 1;
    for (let j = 0; j < originCount; j++) {
      if (j !== skipOrigin) sum += weight * v.errorsAtOrigins[j]!;
      weight *= options.originDecay;
    }
    return sum;
  };
  const ranked = validations.map((v) => ({ v, error: score(v) })).sort((a, b) => a.error - b.error || a.v.model.name.localeCompare(b.v.model.name));
  const bestError = ranked[0]!.error;
  return ranked
    .slice(0, Math.min(options.combineTop, ranked.length))
    .filter((r, i) => i === 0 || r.error <= bestError * (1 + options.combineTolerance))
    .map((r) => r.v);
}

function averageOf(rows: readonly Float64Array[], length: number): Float64Array {
  const out = new Float64Array(length);
  for (const row of rows) for (let h = 0; h < length; h++) out[h] = out[h]! + row[h]! / rows.length;
  return out;
}

function residualsOf(series: Float64Array, origins: readonly number[], forecastsAtOrigins: readonly Float64Array[], horizonSteps: number): Float64Array[] {
  return origins.map((origin, j) => {
    const row = new Float64Array(horizonSteps);
    for (let h = 0; h < horizonSteps; h++) row[h] = series[origin + h]! - forecastsAtOrigins[j]![h]!;
    return row;
  });
}

/** Internal-resolution result of one model or combination. */
interface InternalForecast {
  readonly name: string;
  readonly point: Float64Array;
  readonly residuals: ResidualModel;
  /** Widening applied when the residuals are few or missing. */
  readonly widen: number;
  readonly minResiduals: number;
  /** One internal step's transient error (transientNoiseSd); NaN when it cannot be told. */
  readonly transientSd: number;
}

/**
 * The part of a one-step error that does not persist to the next step: at
 * each validation origin the errors at consecutive steps share the level
 * error, which cancels in their difference, while transient noise of σ
 * gives a difference of variance 2σ². σ = √(mean squared difference / 2);
 * NaN with fewer than 3 differences.
 */
export function transientNoiseSd(residualRows: readonly Float64Array[]): number {
  let sumSquares = 0;
  let count = 0;
  for (const row of residualRows) {
    for (let h = 1; h < row.length; h++) {
      const difference = row[h]! - row[h - 1]!;
      if (!Number.isFinite(difference)) continue;
      sumSquares += difference * difference;
      count++;
    }
  }
  return count < 3 ? Number.NaN : Math.sqrt(sumSquares / count / 2);
}

function scaleFloor(series: Float64Array): number {
  return 1e-6 * (1 + Math.abs(median(series.subarray(Math.max(0, series.length - 100)))));
}

/** Last value, intervals from one-step changes growing with √h: used when nothing can be validated. */
function lastValueFallback(series: Float64Array, horizonSteps: number, widen: number): InternalForecast {
  const n = series.length;
  const last = series[n - 1]!;
  const changes: number[] = [];
  for (let i = 1; i < n; i++) changes.push(Math.abs(series[i]! - series[i - 1]!));
  const meanChange = changes.length === 0 ? 0 : changes.reduce((a, b) => a + b, 0) / changes.length;
  // With no history of change, assume ±25 % of the level is plausible.
  const base = Math.max(meanChange, 0.25 * Math.abs(last) / 1.96, scaleFloor(series));
  const scale = new Float64Array(horizonSteps);
  for (let h = 0; h < horizonSteps; h++) scale[h] = base * Math.sqrt(h + 1);
  return {
    name: 'naive',
    point: new Float64Array(horizonSteps).fill(last),
    residuals: { scale, normalised: new Float64Array(0) },
    widen,
    minResiduals: Number.POSITIVE_INFINITY,
    transientSd: Number.NaN,
  };
}

interface EngineResult {
  readonly final: InternalForecast;
  readonly perModel: readonly InternalForecast[];
}

function candidatesFor(prepared: Prepared, options: ResolvedOptions): PointModel[] {
  const { series, internalHorizonSteps, context } = prepared;
  const room = series.length - internalHorizonSteps;
  // Models needing more than a week of history must also fit at the earliest
  // of several validation origins, so long-memory models (weekly lags) join
  // only once there are about 2.5 weeks and never cut the validation short
  // for the others.
  const spare = Math.min(5, options.validationOrigins - 1) * context.dailySteps;
  const seasonal = options.models.filter((m) => {
    const needed = m.minSteps(context);
    return needed <= room && (needed <= context.weeklySteps || needed <= room - spare);
  });
  if (seasonal.length > 0) return seasonal;
  return [dampedHolt, lastValue].filter((m) => m.minSteps(context) + 8 <= room);
}

function runEngine(prepared: Prepared, options: ResolvedOptions, withPerModel: boolean): EngineResult {
  const { series, internalHorizonSteps: horizon, context } = prepared;
  const candidates = candidatesFor(prepared, options);
  if (candidates.length === 0) {
    const fallback = lastValueFallback(series, horizon, options.fallbackWiden);
    return { final: fallback, perModel: [fallback] };
  }
  const minSteps = Math.max(...candidates.map((m) => m.minSteps(context)));
  const origins = validationOrigins(series.length, horizon, context.dailySteps, options.validationOrigins, minSteps, options.samePhaseOrigins);
  const validations = validate(candidates, series, horizon, context, origins);
  const chosen = chooseCombination(validations, origins.length, -1, options);
  const memo: ModelMemo = new Map();
  const fullForecasts = new Map<string, Float64Array>();
  const forecastOf = (model: PointModel): Float64Array => {
    let f = fullForecasts.get(model.name);
    if (!f) {
      f = model.predict(series, horizon, context, memo);
      fullForecasts.set(model.name, f);
    }
    return f;
  };
  const floor = scaleFloor(series);
  // Fewer than three origins' worth of residuals: normal shape, widened.
  const minResiduals = 3 * horizon;
  const widen = options.intervalWiden * (origins.length >= 3 ? 1 : 1.5);
  // Honest residuals: at each origin, the combination is chosen WITHOUT that
  // origin's errors (leave-one-origin-out), so the intervals are not as
  // optimistic as the selection that saw them.
  const combinedAtOrigins = origins.map((_, j) => {
    const heldOut = chooseCombination(validations, origins.length, j, options);
    return averageOf(heldOut.map((v) => v.atOrigins[j]!), horizon);
  });
  const combinedResiduals = residualsOf(series, origins, combinedAtOrigins, horizon);
  const final: InternalForecast = {
    name: chosen.length === 1 ? chosen[0]!.model.name : `combo(${chosen.map((v) => v.model.name).join('+')})`,
    point: averageOf(chosen.map((v) => forecastOf(v.model)), horizon),
    residuals: fitResidualModel(combinedResiduals, horizon, floor),
    widen,
    minResiduals,
    transientSd: transientNoiseSd(combinedResiduals),
  };
  const perModel = withPerModel
    ? validations.map((v) => {
        const residuals = residualsOf(series, origins, v.atOrigins, horizon);
        return { name: v.model.name, point: forecastOf(v.model), residuals: fitResidualModel(residuals, horizon, floor), widen, minResiduals, transientSd: transientNoiseSd(residuals) };
      })
    : [];
  return { final, perModel };
}

/** The requested levels inside (0, 1), each once, ascending. */
function requestedLevels(request: ForecastRequest): number[] {
  return [...new Set(request.levels)].filter((l) => l > 0 && l < 1).sort((a, b) => a - b);
}

/** A forecast starts at the step after the last history point. */
function forecastStartMs(request: ForecastRequest): number {
  return historyEndMs(request.history);
}

/** No data at all: nothing to forecast from; zeros, flagged by the model name. */
function noDataForecast(request: ForecastRequest): Forecast {
  const zeros = new Array<number>(request.horizonSteps).fill(0);
  return {
    model: 'no-data',
    startMs: forecastStartMs(request),
    stepSeconds: request.history.stepSeconds,
    point: zeros,
    quantiles: requestedLevels(request).map((level) => ({ level, values: zeros })),
  };
}

/** Internal forecast → the requested steps and levels, with calendar events and the non-negative clamp. */
function finish(request: ForecastRequest, prepared: Prepared, internal: InternalForecast): Forecast {
  const { history, horizonSteps } = request;
  const levels = requestedLevels(request);
  const startMs = forecastStartMs(request);
  const { factor, series, withinBucket } = prepared;
  const anchor = factor > 1 ? series[series.length - 1]! : Number.NaN;
  const point = upsampleLinear(internal.point, factor, horizonSteps, anchor);
  const multipliers = eventMultipliers(request.calendar, startMs, history.stepSeconds, horizonSteps);
  const clamp = (v: number): number => (prepared.nonNegative ? Math.max(0, v) : v);
  const quantiles: QuantileSeries[] = levels.map((level) => {
    const internalOffsets = quantileOffsets(internal.residuals, level, internal.minResiduals, internal.widen);
    const offsets = upsampleLinear(internalOffsets, factor, horizonSteps, Number.NaN);
    const fine = withinBucket.length > 0 ? quantileSorted(withinBucket, level) : 0;
    const finer = prepared.finer.deviations.length > 0 ? quantileSorted(prepared.finer.deviations, level) : 0;
    const values = point.map((p, h) => {
      const o = offsets[h]!;
      // Independent spreads add in quadrature; the sign follows the side of the level.
      const combined = Math.sign(level - 0.5 || o) * Math.sqrt(o * o + fine * fine + finer * finer);
      return clamp((p + combined) * multipliers[h]!);
    });
    return { level, values };
  });
  // Quantiles must not cross: enforce monotonicity in level per step.
  for (let q = 1; q < quantiles.length; q++) {
    const below = quantiles[q - 1]!.values;
    const current = quantiles[q]!.values as number[];
    for (let h = 0; h < horizonSteps; h++) if (current[h]! < below[h]!) current[h] = below[h]!;
  }
  // A history period's transient noise: its bucket's, plus its own about the line through the buckets, plus (when
  // the history was read coarser than the metric's period) a metric period's about its step's mean (independent:
  // in quadrature); measured with events divided out, so scaled back by the first step's.
  const noiseSd = Math.sqrt(internal.transientSd * internal.transientSd + prepared.fineNoiseVariance + prepared.finer.meanSquare) * multipliers[0]!;
  return {
    model: internal.name,
    startMs,
    stepSeconds: history.stepSeconds,
    point: point.map((p, h) => clamp(p * multipliers[h]!)),
    quantiles,
    ...(Number.isFinite(noiseSd) ? { noiseSd } : {}),
  };
}

export interface ForecastDiagnostics {
  readonly final: Forecast;
  /** Each candidate alone, with intervals from its own residuals (same origins). */
  readonly perModel: readonly Forecast[];
}

/** The engine with every candidate's forecast too: for the benchmark and the decision log. */
export function forecastWithDiagnostics(request: ForecastRequest, options?: ForecasterOptions): ForecastDiagnostics {
  const resolved = resolve(options);
  const prepared = prepare(request, resolved);
  if (!prepared) return { final: noDataForecast(request), perModel: [] };
  const result = runEngine(prepared, resolved, true);
  return { final: finish(request, prepared, result.final), perModel: result.perModel.map((m) => finish(request, prepared, m)) };
}

/** The forecaster the pipeline calls: automatic per-series selection and combination with calibrated quantiles. */
export function createForecaster(options?: ForecasterOptions): Forecaster {
  const resolved = resolve(options);
  return {
    name: 'prescale-auto',
    forecast(request: ForecastRequest): Forecast {
      const prepared = prepare(request, resolved);
      if (!prepared) return noDataForecast(request);
      return finish(request, prepared, runEngine(prepared, resolved, false).final);
    },
  };
}
