/**
 * The project's one seeded PRNG: simulations, benchmarks and tests that need
 * randomness take a seed, so every run is reproducible.
 */

/** mulberry32: a 32-bit state PRNG, uniform in [0, 1). Small, fast and good enough for simulation (not for secrets). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
