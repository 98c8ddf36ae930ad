/** Deterministic synthetic series for the forecast tests. */

/** Mulberry32: a seeded uniform PRNG in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws by Box–Muller from the seeded uniform source. */
export function seededNormal(seed: number): () => number {
  const uniform = seededRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** Hourly daily sinusoid around `level`: level + amplitude·sin(2πt/24) + slope·t. */
export function hourlySinusoid(hours: number, level: number, amplitude: number, slopePerHour: number): number[] {
  return Array.from({ length: hours }, (_, t) => level + slopePerHour * t + amplitude * Math.sin((2 * Math.PI * t) / 24));
}

export const HOUR_SECONDS = 3600;
/** Monday 2025-01-06 00:00 UTC: weekly phase 0 is a Monday in the calendar tests. */
export const MONDAY_MS = Date.UTC(2025, 0, 6);
