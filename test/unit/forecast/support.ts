/** Deterministic synthetic series for the forecast tests. */

import { mulberry32 } from '../../../lib/core/random.ts';

/** Standard normal draws by Box–Muller from the seeded uniform source. */
export function seededNormal(seed: number): () => number {
  const uniform = mulberry32(seed);
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** Hourly daily sinusoid around `level`: level + amplitude·sin(2πt/24) + slope·t. */
export function hourlySinusoid(hours: number, level: number, amplitude: number, slopePerHour: number): number[] {
  return Array.from({ length: hours }, (_, t) => level + slopePerHour * t + amplitude * Math.sin((2 * Math.PI * t) / 24));
}

export const HOUR_SECONDS = 3600;
/** Monday 2025-01-06 00:00 UTC: weekly phase 0 is a Monday in the calendar tests. */
export const MONDAY_MS = Date.UTC(2025, 0, 6);
