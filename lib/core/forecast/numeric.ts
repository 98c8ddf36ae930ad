/**
 * Small numeric helpers shared by the models (and the rest of the core).
 * Pure and allocation-light: the engine runs them thousands of times per
 * forecast (every model at every validation origin), so they work on
 * Float64Array where it matters.
 */

/** `value` bounded to [min, max] (a NaN stays NaN): the one clamp the core uses. */
export function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** Log-odds of a probability in (0, 1). */
export function logit(p: number): number {
  return Math.log(p / (1 - p));
}

/** The probability whose log-odds are z (logit's inverse). */
export function logistic(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/** Median of the finite values; NaN when there are none. Does not modify the input. */
export function median(values: ArrayLike<number>): number {
  const finite = new Float64Array(values.length);
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) finite[count++] = v;
  }
  return medianInPlace(count === values.length ? finite : finite.subarray(0, count));
}

/**
 * Median of a finite-valued typed array, reordering it in place; NaN when
 * empty. Quickselect (expected linear) rather than a full sort: the
 * decomposition takes medians of thousands of values at every validation
 * origin, and sorting them was a third of a backtest's time.
 */
export function medianInPlace(values: Float64Array): number {
  return medianOfRangeInPlace(values, 0, values.length);
}

/**
 * Median of values[start, end), reordering only that range; NaN when empty.
 * The decomposition takes one median per seasonal phase, each of a handful
 * of values, all from one shared buffer: a range needs no array per phase.
 */
export function medianOfRangeInPlace(values: Float64Array, start: number, end: number): number {
  const n = end - start;
  if (n === 0) return Number.NaN;
  if (n <= SORT_BELOW) {
    insertionSort(values, start, end);
    const mid = start + (n >> 1);
    return n % 2 === 1 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;
  }
  const range = values.subarray(start, end);
  const mid = n >> 1;
  const upper = selectInPlace(range, mid);
  if (n % 2 === 1) return upper;
  // Everything left of `mid` is ≤ the selected value: the lower middle is their maximum.
  let lower = range[0]!;
  for (let i = 1; i < mid; i++) if (range[i]! > lower) lower = range[i]!;
  return (lower + upper) / 2;
}

/**
 * Sorts values[start, end) in place, in a typed array's sort() order. For a
 * few values a JS insertion sort is several times faster than a call into
 * the native sort, and the same order gives the same median to the bit.
 */
function insertionSort(values: Float64Array, start: number, end: number): void {
  for (let i = start + 1; i < end; i++) {
    const v = values[i]!;
    let j = i;
    while (j > start && sortsBefore(v, values[j - 1]!)) {
      values[j] = values[j - 1]!;
      j--;
    }
    values[j] = v;
  }
}

/** A typed array's default sort order: ascending, −0 before +0, NaN last. */
function sortsBefore(a: number, b: number): boolean {
  if (a < b) return true;
  if (Number.isNaN(b)) return !Number.isNaN(a);
  return a === 0 && b === 0 && Object.is(a, -0) && !Object.is(b, -0);
}

/** Below this length a native typed sort is as fast as selection. */
const SORT_BELOW = 64;

/**
 * The k-th smallest value (0-based); afterwards values[0..k) ≤ values[k] ≤
 * values(k..n). Hoare partitioning around a median-of-three pivot.
 */
export function selectInPlace(values: Float64Array, k: number): number {
  let left = 0;
  let right = values.length - 1;
  while (right > left) {
    const middle = (left + right) >> 1;
    // Order left, middle, right so the pivot is their median and both ends are sentinels.
    if (values[middle]! < values[left]!) swap(values, middle, left);
    if (values[right]! < values[left]!) swap(values, right, left);
    if (values[right]! < values[middle]!) swap(values, right, middle);
    const pivot = values[middle]!;
    let i = left;
    let j = right;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (values[j]! > pivot) j--;
      if (i <= j) {
        swap(values, i, j);
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return values[k]!;
  }
  return values[k]!;
}

function swap(values: Float64Array, a: number, b: number): void {
  const t = values[a]!;
  values[a] = values[b]!;
  values[b] = t;
}

/** Empirical quantile of an ascending array, interpolating between order statistics (type 7). */
export function quantileSorted(sorted: ArrayLike<number>, level: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = Math.min(Math.max(level, 0), 1) * (sorted.length - 1);
  const lower = Math.floor(position);
  const upper = Math.min(lower + 1, sorted.length - 1);
  const weight = position - lower;
  return sorted[lower]! + weight * (sorted[upper]! - sorted[lower]!);
}

/** `x mod m` in [0, m) for negative x too. */
export function positiveModulo(x: number, m: number): number {
  const r = x % m;
  return r < 0 ? r + m : r;
}

/**
 * Inverse of the standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9).
 * Used only where there are too few out-of-sample residuals for an empirical quantile.
 */
export function normalQuantile(p: number): number {
  if (p <= 0) return Number.NEGATIVE_INFINITY;
  if (p >= 1) return Number.POSITIVE_INFINITY;
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/**
 * Centred moving average with a window of `windowSteps` points (a full
 * season removes that season). Near the ends the window is held at the
 * first/last full position, so the result has no NaN.
 */
export function centredMovingAverage(values: Float64Array, windowSteps: number): Float64Array {
  const n = values.length;
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i]! + values[i]!;
  const out = new Float64Array(n);
  const before = Math.floor((windowSteps - 1) / 2);
  const window = Math.min(windowSteps, n);
  for (let i = 0; i < n; i++) {
    // Near the ends the window slides inward instead of shrinking: a shrunken
    // window would no longer span a full season and would leak it into the trend.
    const from = Math.min(Math.max(0, i - before), n - window);
    out[i] = (prefix[from + window]! - prefix[from]!) / window;
  }
  return out;
}

/** Σ values[t − lagA] · values[t − lagB] for t in [from, to), summed in t order. */
export function laggedProductSum(values: Float64Array, from: number, to: number, lagA: number, lagB: number): number {
  let sum = 0;
  for (let t = from; t < to; t++) sum += values[t - lagA]! * values[t - lagB]!;
  return sum;
}

/**
 * Solves the small dense system A·x = b (row-major, k×k) by Gaussian
 * elimination with partial pivoting; undefined when singular.
 */
export function solveLinear(a: Float64Array, b: Float64Array, k: number): Float64Array | undefined {
  const m = Float64Array.from(a);
  const x = Float64Array.from(b);
  for (let c = 0; c < k; c++) {
    let pivot = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(m[r * k + c]!) > Math.abs(m[pivot * k + c]!)) pivot = r;
    if (!(Math.abs(m[pivot * k + c]!) > 1e-12)) return undefined;
    if (pivot !== c) {
      for (let j = 0; j < k; j++) {
        const t = m[c * k + j]!;
        m[c * k + j] = m[pivot * k + j]!;
        m[pivot * k + j] = t;
      }
      const t = x[c]!;
      x[c] = x[pivot]!;
      x[pivot] = t;
    }
    for (let r = c + 1; r < k; r++) {
      const f = m[r * k + c]! / m[c * k + c]!;
      if (f === 0) continue;
      for (let j = c; j < k; j++) m[r * k + j] = m[r * k + j]! - f * m[c * k + j]!;
      x[r] = x[r]! - f * x[c]!;
    }
  }
  for (let r = k - 1; r >= 0; r--) {
    let s = x[r]!;
    for (let j = r + 1; j < k; j++) s -= m[r * k + j]! * x[j]!;
    x[r] = s / m[r * k + r]!;
  }
  return x;
}
