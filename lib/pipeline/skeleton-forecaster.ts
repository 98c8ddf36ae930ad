/**
 * Seasonal-naive placeholder used until the forecasting engine lands:
 * tomorrow looks like today, with empirical quantiles of the day-over-day change.
 */
import type { Forecast, Forecaster, ForecastRequest } from '../core/forecast/types.ts';

export function createSeasonalNaiveForecaster(): Forecaster {
  return {
    name: 'seasonal-naive',
    forecast(request: ForecastRequest): Forecast {
      const { history, horizonSteps, levels } = request;
      const values = history.values;
      const season = Math.round(86_400 / history.stepSeconds);
      let last = 0;
      for (let i = values.length - 1; i >= 0; i--) if (!Number.isNaN(values[i]!)) { last = values[i]!; break; }
      const point: number[] = [];
      for (let h = 0; h < horizonSteps; h++) {
        const past = values[values.length + h - season];
        point.push(past === undefined || Number.isNaN(past) ? last : past);
      }
      const residuals: number[] = [];
      for (let i = Math.max(season, values.length - 2 * season); i < values.length; i++) {
        const r = values[i]! - values[i - season]!;
        if (Number.isFinite(r)) residuals.push(r);
      }
      residuals.sort((a, b) => a - b);
      const quantiles = [...levels].sort((a, b) => a - b).map((level) => {
        const r = residuals.length === 0 ? 0 : residuals[Math.min(residuals.length - 1, Math.floor(level * residuals.length))]!;
        return { level, values: point.map((p) => Math.max(0, p + r)) };
      });
      return { model: 'seasonal-naive', startMs: history.startMs + values.length * history.stepSeconds * 1000, stepSeconds: history.stepSeconds, point, quantiles };
    },
  };
}
