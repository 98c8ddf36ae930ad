/**
 * The one place the forecasting model is chosen for the Lambda functions
 * (the seasonal-naive placeholder until the forecasting engine lands).
 */
import type { Forecaster } from '../core/forecast/types.ts';
import { createSeasonalNaiveForecaster } from '../pipeline/skeleton-forecaster.ts';

export function createHandlerForecaster(): Forecaster {
  return createSeasonalNaiveForecaster();
}
