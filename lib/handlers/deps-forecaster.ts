/**
 * The one place the forecasting model is chosen for the Lambda functions:
 * the same engine the backtest scores.
 */
import type { Forecaster } from '../core/forecast/types.ts';
import { createForecaster } from '../core/forecast/index.ts';

export function createHandlerForecaster(): Forecaster {
  return createForecaster();
}
