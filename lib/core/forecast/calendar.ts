/**
 * The business calendar's effect on a forecast:
 * - a planned event multiplies demand inside [start, end) and nowhere else;
 *   past events are divided out of the history so they do not teach the
 *   seasonal profile a one-off peak;
 * - a holiday takes the weekly phase of the most recent non-business day
 *   (a weekend day by default), so it is forecast — and learnt — like one.
 * Time zones go through Intl.DateTimeFormat; everything else is arithmetic.
 */
import type { CalendarConfig } from '../../config/schema.ts';
import { positiveModulo } from './numeric.ts';

const DAY_MS = 86_400_000;
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/** Formatters are costly to build; they are pure, so caching by zone is safe. */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Offset of `timeZone` from UTC at instant `utcMs`, in ms (positive east of Greenwich). */
export function timeZoneOffsetMs(utcMs: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(new Date(utcMs))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const asUtc = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return asUtc - Math.floor(utcMs / 1000) * 1000;
}

/** UTC instant of local midnight starting `date` (YYYY-MM-DD) in `timeZone`. */
export function localMidnightUtcMs(date: string, timeZone: string): number {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const wallClock = Date.UTC(year, month - 1, day);
  // Two rounds settle the offset even when midnight sits next to a DST change.
  let utc = wallClock - timeZoneOffsetMs(wallClock, timeZone);
  utc = wallClock - timeZoneOffsetMs(utc, timeZone);
  return utc;
}

/** Product of the multipliers of the events covering each step's timestamp (1 where none). */
export function eventMultipliers(calendar: CalendarConfig | undefined, startMs: number, stepSeconds: number, count: number): Float64Array {
  const out = new Float64Array(count).fill(1);
  if (!calendar) return out;
  const stepMs = stepSeconds * 1000;
  for (const event of calendar.events) {
    const fromMs = Date.parse(event.start);
    const toMs = Date.parse(event.end);
    if (!(toMs > fromMs)) continue;
    const first = Math.max(0, Math.ceil((fromMs - startMs) / stepMs));
    const last = Math.min(count, Math.ceil((toMs - startMs) / stepMs)); // exclusive
    for (let i = first; i < last; i++) out[i] = out[i]! * event.multiplier;
  }
  return out;
}

/** Days of the week (0 = Sunday) that are not business days: saturday and sunday unless configured. */
function nonBusinessWeekdays(calendar: CalendarConfig): number[] {
  const business = calendar.businessHours?.days ?? ['mon', 'tue', 'wed', 'thu', 'fri'];
  return WEEKDAYS.flatMap((name, index) => (business.includes(name) ? [] : [index]));
}

/**
 * Weekly phase for each internal index (history and horizon), or undefined
 * when the calendar changes nothing. `startMs` is the timestamp of internal
 * index 0 and `stepSeconds` the internal step.
 */
export function holidayWeeklyPhase(
  calendar: CalendarConfig | undefined,
  startMs: number,
  stepSeconds: number,
  count: number,
  dailySteps: number,
  weeklySteps: number,
): Int32Array | undefined {
  if (!calendar || calendar.holidays.length === 0) return undefined;
  const weekend = nonBusinessWeekdays(calendar);
  if (weekend.length === 0) return undefined;
  const stepMs = stepSeconds * 1000;
  const endMs = startMs + count * stepMs;
  let phases: Int32Array | undefined;
  for (const holiday of [...calendar.holidays].sort()) {
    const [year, month, day] = holiday.split('-').map(Number) as [number, number, number];
    const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
    if (weekend.includes(weekday)) continue;
    const fromMs = localMidnightUtcMs(holiday, calendar.timeZone);
    if (fromMs >= endMs || fromMs + DAY_MS + 3_600_000 <= startMs) continue;
    const nextDay = new Date(Date.UTC(year, month - 1, day) + DAY_MS).toISOString().slice(0, 10);
    const toMs = localMidnightUtcMs(nextDay, calendar.timeZone);
    // Days back to the most recent non-business day.
    let daysBack = 1;
    while (!weekend.includes(positiveModulo(weekday - daysBack, 7))) daysBack++;
    if (!phases) {
      phases = new Int32Array(count);
      for (let i = 0; i < count; i++) phases[i] = i % weeklySteps;
    }
    const first = Math.max(0, Math.ceil((fromMs - startMs) / stepMs));
    const last = Math.min(count, Math.ceil((toMs - startMs) / stepMs));
    for (let i = first; i < last; i++) phases[i] = positiveModulo(i - daysBack * dailySteps, weeklySteps);
  }
  return phases;
}
