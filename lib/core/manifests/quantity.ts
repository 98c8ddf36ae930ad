/**
 * Numbers as Kubernetes quantities. A metric target such as 0.2 (a ratio) or
 * 100 (requests per second) must be written as a quantity string; a float
 * cannot go into the API as is.
 */
const SCALES: readonly (readonly [number, string])[] = [
  [1, ''],
  [1e3, 'm'],
  [1e6, 'u'],
  [1e9, 'n'],
];

/** `100` → "100", `0.2` → "200m", `2.5` → "2500m", `0.0000005` → "500n". */
export function formatQuantity(value: number): string {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`cannot write ${value} as a Kubernetes quantity`);
  for (const [scale, suffix] of SCALES) {
    const scaled = value * scale;
    const rounded = Math.round(scaled);
    // Relative tolerance absorbs binary float noise (0.2 * 1000 = 200.00000000000003).
    if (Math.abs(scaled - rounded) <= 1e-9 * Math.max(1, Math.abs(scaled))) return `${rounded}${suffix}`;
  }
  return `${Math.round(value * 1e9)}n`;
}
