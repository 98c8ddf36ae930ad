/**
 * Seeded synthetic traces for `bench:backtest`: the 1-minute speed trace
 * (`--synthetic-days`), and traces of shapes the three shared ones lack
 * (`--varied`). Policies are judged on traces nobody here has
 * seen, so the bench also shows how the defaults behave on smooth, noisy,
 * growing, shifting, stepped, sparse, coarse and bursty series. Each is a plain
 * shape with textbook noise, not fitted to any result; 21 days (7 of
 * warm-up) unless a weekly shape needs four weeks.
 */
import { mulberry32 } from '../lib/core/random.ts';
import { formatTimestamp } from '../lib/sim/trace.ts';

const DAY_MINUTES = 1440;
const T0_MS = Date.UTC(2024, 0, 1); // a Monday

export interface VariedTrace {
  readonly name: string;
  /** What the shape is: the documentation of the trace, printed nowhere. */
  readonly description: string;
  /** Builds the CSV (seeded: the same text every call), only for the traces a bench asks for. */
  readonly csv: () => string;
}

/** A daily wave from 0.4 (midnight) to 1.6 (noon) around 1. */
function dailyWave(minute: number): number {
  return 1 + 0.6 * Math.sin((2 * Math.PI * (minute % DAY_MINUTES)) / DAY_MINUTES - Math.PI / 2);
}

/** Standard normal draws (Box–Muller) from a uniform source. */
function normalFrom(uniform: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** A Poisson draw (Knuth's product of uniforms; fine for the small means used here). */
function poisson(uniform: () => number, mean: number): number {
  const limit = Math.exp(-mean);
  let product = uniform();
  let count = 0;
  while (product > limit) {
    product *= uniform();
    count++;
  }
  return count;
}

/** The CSV of `value(minute)` sampled every `stepMinutes` for `days`; a value of undefined leaves the sample out. */
function traceCsv(stepMinutes: number, days: number, value: (minute: number) => number | undefined): string {
  const lines = ['timestamp,value'];
  for (let minute = 0; minute < days * DAY_MINUTES; minute += stepMinutes) {
    const v = value(minute);
    if (v !== undefined) lines.push(`${formatTimestamp(T0_MS + minute * 60_000)},${Math.max(0, Math.round(v * 1000) / 1000)}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * N days at 1-minute sampling: a daily wave, weekends 30 % lower (eased over
 * two hours so it is a pattern, not a step), ±10 % noise and, about twice a
 * day, a burst of +50 % for 10–30 minutes. Seeded: the same trace every run.
 */
export function syntheticMinuteTraceCsv(days: number, seed = 20260101): string {
  const random = mulberry32(seed);
  let burstLeft = 0;
  return traceCsv(1, days, (minute) => {
    const hour = (minute % DAY_MINUTES) / 60;
    const dayOfWeek = Math.floor(minute / DAY_MINUTES) % 7; // 2024-01-01 is a Monday: 5, 6 are the weekend
    const weekend = dayOfWeek >= 5 ? 1 : 0;
    const easing = Math.min(1, hour / 2);
    const wasWeekend = (dayOfWeek + 6) % 7 >= 5 ? 1 : 0;
    const weekendShare = wasWeekend + (weekend - wasWeekend) * easing;
    const daily = 1000 + 600 * Math.sin((hour / 24) * 2 * Math.PI - Math.PI / 2);
    if (burstLeft === 0 && random() < 2 / 1440) burstLeft = 10 + Math.floor(random() * 21);
    const burst = burstLeft > 0 ? 1.5 : 1;
    if (burstLeft > 0) burstLeft--;
    return Math.round(daily * (1 - 0.3 * weekendShare) * burst * (0.9 + 0.2 * random()));
  });
}

export function variedTraces(): VariedTrace[] {
  const seeded = (seed: number) => {
    const uniform = mulberry32(seed);
    return { uniform, normal: normalFrom(uniform) };
  };
  return [
    {
      name: 'growth',
      description: '5-minute daily wave growing 3 % a day, 5 % noise',
      csv: () => {
        const { normal } = seeded(1);
        return traceCsv(5, 21, (m) => 1000 * dailyWave(m) * Math.exp((0.03 * m) / DAY_MINUTES) * (1 + 0.05 * normal()));
      },
    },
    {
      name: 'level-shift',
      description: '1-minute daily wave that doubles for good on day 12 at 10:00, 5 % noise',
      csv: () => {
        const { normal } = seeded(2);
        return traceCsv(1, 21, (m) => 800 * dailyWave(m) * (m >= 12 * DAY_MINUTES + 600 ? 2 : 1) * (1 + 0.05 * normal()));
      },
    },
    {
      name: 'nightly-batch',
      description: '1-minute flat 300 with a 1500 batch 02:00–03:00 every night, 5 % noise',
      csv: () => {
        const { normal } = seeded(3);
        return traceCsv(1, 21, (m) => (300 + (m % DAY_MINUTES >= 120 && m % DAY_MINUTES < 180 ? 1200 : 0)) * (1 + 0.05 * normal()));
      },
    },
    {
      name: 'low-volume',
      description: '1-minute Poisson counts, mean 3 + 9 × the daily wave',
      csv: () => {
        const { uniform } = seeded(4);
        return traceCsv(1, 21, (m) => poisson(uniform, 3 + 9 * dailyWave(m)));
      },
    },
    {
      name: 'hourly',
      description: 'hourly daily wave, 10 % noise, 42 days',
      csv: () => {
        const { normal } = seeded(5);
        return traceCsv(60, 42, (m) => 500 * dailyWave(m) * (1 + 0.1 * normal()));
      },
    },
    {
      name: 'workday',
      description: '1-minute office hours: a steep 08:00 ramp, quiet weekends, 5 % noise, 28 days',
      csv: () => {
        const { normal } = seeded(6);
        const workday = (m: number): number => {
          const day = Math.floor(m / DAY_MINUTES) % 7;
          const hour = (m % DAY_MINUTES) / 60;
          if (day >= 5) return 0.3;
          const morning = 0.2 + 0.8 / (1 + Math.exp(-(hour - 8) * 6));
          return Math.max(0.2, morning * (hour < 18 ? 1 : Math.max(0, 1 - (hour - 18) / 2)));
        };
        return traceCsv(1, 28, (m) => 2000 * workday(m) * (1 + 0.05 * normal()));
      },
    },
    {
      name: 'random-walk',
      description: '5-minute geometric random walk (2 % a step) between 200 and 5000, no season',
      csv: () => {
        const { normal } = seeded(7);
        let logLevel = Math.log(1000);
        return traceCsv(5, 21, () => {
          logLevel = Math.min(Math.max(logLevel + 0.02 * normal(), Math.log(200)), Math.log(5000));
          return Math.exp(logLevel);
        });
      },
    },
    {
      name: 'gappy',
      description: '5-minute daily wave, 8 % noise, 15 % of samples missing',
      csv: () => {
        const { uniform, normal } = seeded(8);
        return traceCsv(5, 21, (m) => (uniform() < 0.15 ? undefined : 700 * dailyWave(m) * (1 + 0.08 * normal())));
      },
    },
    {
      name: 'bursty',
      description: '5-minute daily wave, 15 % log-normal noise, about 3 bursts a day of Pareto size (× 1.5 and up, α 1.5) fading over half an hour',
      csv: () => {
        const { uniform, normal } = seeded(9);
        let excess = 0;
        return traceCsv(5, 21, (m) => {
          excess *= Math.exp(-5 / 30);
          if (uniform() < (3 * 5) / DAY_MINUTES) excess += 0.5 * (1 - uniform()) ** (-1 / 1.5);
          return 600 * dailyWave(m) * (1 + excess) * Math.exp(0.15 * normal());
        });
      },
    },
  ];
}
