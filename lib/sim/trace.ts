/**
 * Load traces in the BACKTEST.md format (`timestamp,value`, UTC, ascending)
 * and their minute grid: minute m holds the latest sample at or before
 * t0 + m minutes (step-hold), t0 being the first timestamp floored to the minute.
 */
import { median, quantileSorted } from '../core/forecast/numeric.ts';
import { ValidationError } from '../errors.ts';

export interface TraceSample {
  readonly timeMs: number;
  readonly value: number;
}

export interface MinuteGrid {
  /** Epoch ms of minute 0. */
  readonly t0Ms: number;
  /** Demand per minute. */
  readonly demand: Float64Array;
  readonly medianIntervalSeconds: number;
  /** Epoch ms of the first sample (t0 is it floored to the minute). */
  readonly firstSampleMs: number;
}

const MINUTE_MS = 60_000;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?(Z|[+-]00:?00)?$/;

export function parseTimestampMs(text: string): number | undefined {
  const m = TIMESTAMP.exec(text.trim());
  if (!m) return undefined;
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number, number];
  const seconds = Number(m[6] ?? '0');
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || seconds >= 60) return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, 0) + Math.round(seconds * 1000);
  // Date.UTC rolls 2014-02-30 over to March: reject dates that do not exist.
  if (new Date(ms).getUTCDate() !== day) return undefined;
  return ms;
}

/** Parses a trace CSV; every bad line is reported with its line number, up to 20. */
export function parseTraceCsv(text: string, source = 'trace'): TraceSample[] {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').trim().replace(/^\uFEFF/, '').toLowerCase();
  const problems: string[] = [];
  if (header !== 'timestamp,value') problems.push(`line 1: header must be "timestamp,value" (got "${lines[0] ?? ''}")`);
  const samples: TraceSample[] = [];
  for (let i = 1; i < lines.length && problems.length < 20; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '') continue;
    const cells = line.split(',');
    if (cells.length !== 2) {
      problems.push(`line ${i + 1}: expected 2 columns, got ${cells.length}`);
      continue;
    }
    const timeMs = parseTimestampMs(cells[0] ?? '');
    const value = Number(cells[1]);
    if (timeMs === undefined) problems.push(`line ${i + 1}: timestamp "${cells[0]}" is not YYYY-MM-DD HH:MM:SS (UTC)`);
    else if (cells[1]?.trim() === '' || !Number.isFinite(value)) problems.push(`line ${i + 1}: value "${cells[1]}" is not a number`);
    else if (value < 0) problems.push(`line ${i + 1}: value ${value} is negative`);
    else {
      const previous = samples[samples.length - 1];
      if (previous !== undefined && timeMs < previous.timeMs) problems.push(`line ${i + 1}: timestamp ${cells[0]} is earlier than the line before (timestamps must ascend)`);
      else samples.push({ timeMs, value });
    }
  }
  if (problems.length === 0 && samples.length < 2) problems.push('needs at least 2 samples');
  if (problems.length > 0) throw new ValidationError(source, problems);
  return samples;
}

/**
 * The minute grid of BACKTEST.md. It ends one median sampling interval after
 * the last sample (exclusive). Minutes before the first sample (only when it
 * is not on a whole minute) take the first sample's value.
 */
export function toMinuteGrid(samples: readonly TraceSample[]): MinuteGrid {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (first === undefined || last === undefined) throw new ValidationError('trace', ['needs at least 2 samples']);
  const intervalsSeconds: number[] = [];
  for (let i = 1; i < samples.length; i++) intervalsSeconds.push((samples[i]!.timeMs - samples[i - 1]!.timeMs) / 1000);
  const medianIntervalSeconds = median(intervalsSeconds);
  const t0Ms = Math.floor(first.timeMs / MINUTE_MS) * MINUTE_MS;
  const endMs = last.timeMs + medianIntervalSeconds * 1000;
  const minutes = Math.max(1, Math.ceil((endMs - t0Ms) / MINUTE_MS));
  const demand = new Float64Array(minutes);
  let next = 0;
  let current = first.value;
  for (let m = 0; m < minutes; m++) {
    const atMs = t0Ms + m * MINUTE_MS;
    while (next < samples.length && samples[next]!.timeMs <= atMs) current = samples[next++]!.value;
    demand[m] = current;
  }
  return { t0Ms, demand, medianIntervalSeconds, firstSampleMs: first.timeMs };
}

/** Percentile by linear interpolation between order statistics (NumPy's default, "type 7"). */
export function percentile(values: ArrayLike<number>, p: number): number {
  return quantileSorted(Float64Array.from(values).sort(), p / 100);
}

export function formatTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

/**
 * The trace's own metric period, in whole minutes, and the grid minute its
 * periods start on: a sample taken at 21:42:53 changes the grid at 21:43, so
 * that trace's 5-minute periods start 1 minute after t0.
 */
export function samplingPeriod(grid: Pick<MinuteGrid, 't0Ms' | 'firstSampleMs' | 'medianIntervalSeconds'>): { periodMinutes: number; anchorMinute: number } {
  const periodMinutes = Math.max(1, Math.round(grid.medianIntervalSeconds / 60));
  const firstChangeMinute = Math.ceil((grid.firstSampleMs - grid.t0Ms) / MINUTE_MS);
  return { periodMinutes, anchorMinute: firstChangeMinute % periodMinutes };
}
