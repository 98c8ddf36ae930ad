/**
 * The `prescale` command. Each subcommand parses its flags strictly: an
 * unknown flag or a bad value is an error that names it.
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { isPrescaleError, ValidationError } from '../errors.ts';
import { loadConfigFile } from '../config/load.ts';
import { parseMetricStat, parsePolicies, runBacktest } from './backtest.ts';
import { scoreTable } from '../sim/report.ts';
import { parseSpotFlags, SPOT_HELP } from './backtest-spot.ts';
import { PLAN_HELP, planCommand } from './plan.ts';
import { pricesCommand } from './prices.ts';
import { isServiceLevel } from '../core/plan/calibration.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEMO_TRACE = join(ROOT, 'data', 'traces', 'elb_request_count_8c0756.csv');

const HELP = `prescale — predictive autoscaling for Amazon EKS

Usage: prescale <command> [options]

Commands:
  backtest   score prescale and the reference policies on a load trace (BACKTEST.md v1)
  demo       backtest the bundled AWS ELB trace with every policy (what \`npm start\` runs)
  validate   check a configuration file and list every problem
  plan       dry run against the AWS account in the environment: the commands a run would issue, and why
  prices     \`prices refresh\`: update the price table from the AWS Pricing API and spot history
  help       show this help, or \`prescale help <command>\`
`;

const BACKTEST_HELP = `prescale backtest --trace FILE [options]

  --trace FILE          CSV with header timestamp,value (UTC, ascending)
  --policy NAME         predictive | reactive | aws-predictive | static | oracle | all, or a comma list [all]
  --out DIR             where decisions*.csv, summary.json and report.html go [out/backtest]
  --capacity C          demand one ready node serves [p99(demand) / 20]
  --boot-minutes B      minutes from launch to ready [3]
  --price P             USD per node-hour, billed per minute [0.192]
  --warmup-days W       days of history before scoring starts [7]
  --service-level Q     predictive's service level (0..1) [0.9, the config default]
  --metric-stat S       how predictive reads demand: Average (a gauge, known within its period)
                        or Sum (a count, read once its period has ended and settled, as
                        CloudWatch serves RequestCount) [Average]
  --pareto LIST         also run predictive at these service levels for the Pareto curve, e.g. 0.8,0.9,0.99
  --quiet               no progress bar
${SPOT_HELP}`;

const VALIDATE_HELP = `prescale validate --config FILE

Checks a configuration file and lists every problem with its path and rule.
`;

/** A bad flag is a usage error: exit 2 with a message that names the flag. */
function usage(problem: string): ValidationError {
  return new ValidationError('options', [problem]);
}

function numberFlag(name: string, value: string | undefined, fallback: number | undefined): number | undefined {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed)) throw usage(`--${name} must be a number (got "${value}")`);
  return parsed;
}

async function backtestCommand(argv: readonly string[], demo: boolean): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      trace: { type: 'string' },
      policy: { type: 'string', default: 'all' },
      out: { type: 'string', default: demo ? 'out/demo' : 'out/backtest' },
      capacity: { type: 'string' },
      'boot-minutes': { type: 'string' },
      price: { type: 'string' },
      'warmup-days': { type: 'string' },
      'service-level': { type: 'string' },
      'metric-stat': { type: 'string' },
      pareto: { type: 'string' },
      'spot-interruptions': { type: 'string' },
      'spot-share': { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(BACKTEST_HELP);
    return 0;
  }
  const tracePath = values.trace ?? (demo ? DEMO_TRACE : undefined);
  if (tracePath === undefined) throw usage('--trace is required (a CSV with header timestamp,value)');
  const serviceLevel = numberFlag('service-level', values['service-level'], undefined);
  if (serviceLevel !== undefined && !isServiceLevel(serviceLevel)) throw usage(`--service-level must be between 0.5 and 0.995, the levels calibration reads the forecast at (got ${serviceLevel})`);
  const paretoLevels = (values.pareto ?? (demo ? '0.8,0.9,0.95,0.99' : ''))
    .split(',')
    .filter((s) => s.trim() !== '')
    .map((s) => {
      const level = numberFlag('pareto', s, undefined)!;
      if (!isServiceLevel(level)) throw usage(`--pareto levels must be between 0.5 and 0.995, the levels calibration reads the forecast at (got ${s})`);
      return level;
    });
  const output = await runBacktest({
    tracePath,
    outDir: values.out!,
    policies: parsePolicies(values.policy!),
    capacity: numberFlag('capacity', values.capacity, undefined),
    bootMinutes: numberFlag('boot-minutes', values['boot-minutes'], 3)!,
    usdPerNodeHour: numberFlag('price', values.price, 0.192)!,
    warmupDays: numberFlag('warmup-days', values['warmup-days'], 7)!,
    serviceLevel,
    metricStat: parseMetricStat(values['metric-stat']),
    paretoLevels,
    spotInterruptions: parseSpotFlags(values['spot-interruptions'], values['spot-share']),
    // A progress bar only makes sense on a terminal; CI logs get the table alone.
    progress: !values.quiet && process.stderr.isTTY === true,
  });
  process.stdout.write(`\n${scoreTable(output.results)}\n\n`);
  for (const file of output.files) process.stdout.write(`wrote ${file}\n`);
  const report = output.files.find((f) => f.endsWith('report.html'));
  if (report) process.stdout.write(`\nReport: ${report}\n`);
  process.stdout.write(`(${output.wallSeconds.toFixed(1)} s)\n`);
  return 0;
}

function validateCommand(argv: readonly string[]): number {
  const { values } = parseArgs({ args: [...argv], strict: true, options: { config: { type: 'string' }, help: { type: 'boolean', default: false } } });
  if (values.help) {
    process.stdout.write(VALIDATE_HELP);
    return 0;
  }
  if (values.config === undefined) throw usage('--config is required');
  const config = loadConfigFile(values.config);
  process.stdout.write(`${values.config}: valid — cluster ${config.cluster.name}, ${config.nodeGroups.length} node groups, ${config.services.length} services\n`);
  return 0;
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        if (rest[0] === 'backtest') process.stdout.write(BACKTEST_HELP);
        else if (rest[0] === 'validate') process.stdout.write(VALIDATE_HELP);
        else if (rest[0] === 'plan') process.stdout.write(PLAN_HELP);
        else process.stdout.write(HELP);
        return 0;
      case 'backtest':
        return await backtestCommand(rest, false);
      case 'demo':
        return await backtestCommand(rest, true);
      case 'validate':
        return validateCommand(rest);
      case 'plan':
        return await planCommand(rest);
      case 'prices':
        return await pricesCommand(rest);
      default:
        process.stderr.write(`prescale: unknown command "${command}"\n\n${HELP}`);
        return 2;
    }
  } catch (error) {
    if (isPrescaleError(error)) {
      process.stderr.write(`prescale ${command}: ${error.message}\n`);
      return error.code === 'validation' ? 2 : 1;
    }
    if (error instanceof Error && 'code' in error && typeof error.code === 'string' && error.code.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`prescale ${command}: ${error.message}\nSee \`prescale help ${command}\`.\n`);
      return 2;
    }
    throw error;
  }
}
