/** The forecasting engine's public surface. */
export { createForecaster, forecastWithDiagnostics } from './engine.ts';
export type { ForecastDiagnostics, ForecasterOptions } from './engine.ts';
export {
  dampedHolt,
  decomposed,
  defaultSeasonalModels,
  lastValue,
  onLogScale,
  seasonalMean,
  seasonalDiffAr,
  seasonalNaive,
} from './models.ts';
export type { Lag, LevelModel, ModelMemo, PointModel, SeasonalDiffArOptions, SeasonContext } from './models.ts';
export { computeCoverage, computeMase, computeMsis, computeOwa, computeSmape, seasonalNaiveScale } from './metrics.ts';
export { eventMultipliers, holidayWeeklyPhase, localMidnightUtcMs, timeZoneOffsetMs } from './calendar.ts';
export { decompose } from './decompose.ts';
export type { Decomposition, DecomposeOptions } from './decompose.ts';
export { STANDARD_LEVELS, quantileAt } from './types.ts';
export type { DemandHistory, Forecast, ForecastRequest, Forecaster, QuantileSeries } from './types.ts';
