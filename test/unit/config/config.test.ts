import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { loadConfigFile, parseConfig, parseConfigYaml } from '../../../lib/config/load.ts';
import { formatPath } from '../../../lib/config/issues.ts';
import { ValidationError } from '../../../lib/errors.ts';
import { parseCpuMillicores, parseMemoryMiB } from '../../../lib/config/quantity.ts';
import type { PriceTable } from '../../../lib/core/budget/prices.ts';

const EXAMPLE = 'config/example.yaml';
const example = (): Record<string, unknown> => parseDocument(readFileSync(EXAMPLE, 'utf8')).toJS() as Record<string, unknown>;

/** Applies `edit` to a fresh copy of the example and returns every problem reported. */
// The edits reach deep into untyped YAML: `any` is the honest type here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type RawConfig = any;

function problemsAfter(edit: (c: RawConfig) => void, options: Parameters<typeof parseConfig>[2] = {}): readonly string[] {
  const raw = example();
  edit(raw);
  try {
    parseConfig(raw, 'config', options);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).details;
  }
  return [];
}

describe('config/example.yaml', () => {
  it('loads: the workload of DESIGN.md', () => {
    const config = loadConfigFile(EXAMPLE);
    expect(config.services.map((s) => `${s.name} ${s.hpa.minReplicas}-${s.hpa.maxReplicas}`)).toEqual(['gateway 3-20', 'llm 2-8', 'context 3-15']);
    expect(config.nodeGroups.map((g) => `${g.name} ${g.minNodes}-${g.maxNodes} ${g.capacityType}`)).toEqual([
      'general 3-20 on-demand',
      'compute 1-10 on-demand',
      'memory 1-8 on-demand',
      'spot 0-15 spot',
    ]);
    // 500m and 512Mi are held in planner units
    expect(config.services[0]!.requests).toEqual({ cpuMillicores: 500, memoryMiB: 512 });
    // VPA bounds gateway 100m/256Mi–2000m/4Gi
    expect(config.services[0]!.vpa).toMatchObject({ minAllowed: { cpuMillicores: 100, memoryMiB: 256 }, maxAllowed: { cpuMillicores: 2000, memoryMiB: 4096 } });
    expect(config.policy.serviceLevel).toBe(0.95);
    expect(config.policy.costCeiling).toBe('reactive');
    // ALB RequestCount publishes nothing in a minute without requests: the gateway reads those gaps as zero.
    expect(config.services.map((s) => `${s.name} ${s.demand.metric.stat} ${s.demand.metric.missingData} ${s.demand.metric.settleSeconds}`)).toEqual([
      'gateway Sum zero 60',
      'llm Sum missing 60',
      'context Sum missing 60',
    ]);
  });
});

describe('every bundled example config', () => {
  const files = readdirSync('config').filter((name) => /\.ya?ml$/.test(name)).sort();
  it('there is at least one', () => expect(files).toContain('example.yaml'));
  it.each(files)('config/%s loads, every node group priced by the bundled table', (name) => {
    expect(loadConfigFile(join('config', name)).nodeGroups.length).toBeGreaterThan(0);
  });
});

describe('node group prices are checked at load', () => {
  const UNPRICED = 'no on-demand price for x9.huge in us-east-1 in the price table of 2024-06-01; set nodeGroups[].usdPerHour or run `prescale prices refresh`';
  it.each<[string, (c: RawConfig) => void, readonly string[]]>([
    ['an unpriceable group is refused with its path', (c) => (c.nodeGroups[2].instanceTypes = ['x9.huge']), [`nodeGroups[2] node group "memory": ${UNPRICED}`]],
    ['one unpriceable type of several is enough', (c) => (c.nodeGroups[0].instanceTypes = ['m5.large', 'x9.huge']), [`nodeGroups[0] node group "general": ${UNPRICED}`]],
    // Prices also choose among node groups, so a config without a budget is checked too.
    ['without a budget too', (c) => ((c.nodeGroups[3].instanceTypes = ['x9.huge']), delete c.budget), [`nodeGroups[3] node group "spot": ${UNPRICED}`]],
    [
      'every unpriceable group, beside the other problems',
      (c) => ((c.nodeGroups[1].instanceTypes = ['x9.huge']), (c.nodeGroups[2].instanceTypes = ['x9.huge']), (c.nodeGroups[0].maxNodes = 2), (c.services[0].hpa.maxReplica = 4)),
      [
        'nodeGroups[0].maxNodes must be ≥ minNodes (3)',
        `nodeGroups[1] node group "compute": ${UNPRICED}`,
        `nodeGroups[2] node group "memory": ${UNPRICED}`,
        'services[0].hpa.maxReplica is not a known key',
      ],
    ],
    [
      'a region the table does not hold',
      (c) => ((c.cluster.region = 'sa-east-1'), c.nodeGroups.slice(1).forEach((g: RawConfig) => (g.usdPerHour = 1))),
      ['nodeGroups[0] node group "general": no on-demand price for m5.large, m5.xlarge in sa-east-1 (the table has no prices for region sa-east-1) in the price table of 2024-06-01; set nodeGroups[].usdPerHour or run `prescale prices refresh`'],
    ],
    ['a usdPerHour override prices a group the table cannot', (c) => ((c.nodeGroups[2].instanceTypes = ['x9.huge']), (c.nodeGroups[2].usdPerHour = 2.5)), []],
    ['an override prices a group in a region the table does not hold', (c) => ((c.cluster.region = 'sa-east-1'), c.nodeGroups.forEach((g: RawConfig) => (g.usdPerHour = 0.12))), []],
    // A malformed pricing field gets the schema's message alone, not a price problem on top.
    ['a bad override is the schema\'s problem', (c) => ((c.nodeGroups[2].instanceTypes = ['x9.huge']), (c.nodeGroups[2].usdPerHour = 0)), ['nodeGroups[2].usdPerHour must be > 0']],
    ['a bad region is the schema\'s problem', (c) => (c.cluster.region = 'useast1'), ['cluster.region must be an AWS region such as us-east-1']],
  ])('%s', (_name, edit, expected) => {
    expect(problemsAfter(edit)).toEqual(expected);
  });

  const table: PriceTable = { source: 'test', asOf: '2026-01-01', currency: 'USD', onDemandUsdPerHour: { 'us-east-1': { 'x9.huge': 9 } }, spotPriceRatio: { byFamily: { x9: 0.3 }, byRegion: {} } };
  it.each<[string, Parameters<typeof parseConfig>[2], readonly string[]]>([
    ['a table given to the loader is the one checked', { priceTable: table }, []],
    ['priceTable false skips the check (prices refresh)', { priceTable: false }, []],
  ])('%s', (_name, options, expected) => {
    const onlyX9 = (c: RawConfig): void => c.nodeGroups.forEach((g: RawConfig) => (g.instanceTypes = ['x9.huge']));
    expect(problemsAfter(onlyX9, options)).toEqual(expected);
    expect(problemsAfter(onlyX9)).toHaveLength(4); // the bundled table, by default
  });
});

describe('paths in messages', () => {
  it.each<[PropertyKey[], string]>([
    [['services', 0, 'podLabels', 'app'], 'services[0].podLabels.app'],
    // keys that are not identifiers are quoted
    [['services', 0, 'podLabels', 'my app'], 'services[0].podLabels["my app"]'],
    [['nodeGroups', 1, 'labels', 'example.com/tier'], 'nodeGroups[1].labels["example.com/tier"]'],
    [[], '(root)'],
  ])('%j → %s', (path, expected) => {
    expect(formatPath(path)).toBe(expected);
  });

  it('valid pod labels, prefixed keys and empty values included, are kept', () => {
    const raw = example() as RawConfig;
    raw.services[0].podLabels = { 'app.kubernetes.io/instance': 'gw-1', tier: '' };
    expect(parseConfig(raw).services[0]!.podLabels).toEqual({ 'app.kubernetes.io/instance': 'gw-1', tier: '' });
  });
});

describe('bad configs fail with every problem, each with its path and rule', () => {
  it.each<[string, (c: RawConfig) => void, string]>([
    ['maxReplicas below minReplicas', (c) => (c.services[1].hpa.maxReplicas = 1), 'services[1].hpa.maxReplicas must be ≥ minReplicas (2)'],
    ['maxNodes below minNodes', (c) => (c.nodeGroups[0].maxNodes = 2), 'nodeGroups[0].maxNodes must be ≥ minNodes (3)'],
    ['an unknown key', (c) => (c.services[0].hpa.maxReplica = 4), 'services[0].hpa.maxReplica is not a known key'],
    ['a missing field', (c) => delete c.nodeGroups[2].allocatable, 'nodeGroups[2].allocatable is required'],
    ['a wrong type', (c) => (c.services[2].hpa.minReplicas = 'three'), 'services[2].hpa.minReplicas must be a number (got string "three")'],
    ['an unknown node group', (c) => (c.services[0].nodeGroups = ['general', 'gpu']), 'services[0].nodeGroups[1] names node group "gpu", which is not in nodeGroups'],
    ['a taint not tolerated', (c) => (c.services[2].nodeGroups = ['compute']), 'services[2].nodeGroups[0] names "compute", whose taint dedicated=llm:NoSchedule the service does not tolerate'],
    ['a bad CPU quantity', (c) => (c.services[0].requests.cpu = '5 cores'), 'services[0].requests.cpu must be a CPU quantity such as 500m or 2 (got "5 cores")'],
    ['a pod larger than any node', (c) => (c.services[1].requests.memory = '64Gi'), 'services[1].requests must fit on one node of at least one of its node groups'],
    [
      'a VPA acting on what the HPA scales on',
      (c) => (c.services[0].vpa.updateMode = 'Auto'),
      'services[0].vpa controls cpu and memory, which its HPA scales on: use updateMode "Off" (recommendations only) or drop cpu and memory from vpa.controlledResources',
    ],
    ['a duplicate service', (c) => (c.services[2].name = 'gateway'), 'services[2].name "gateway" is already used by services[0]'],
    ['an unknown enum value', (c) => (c.nodeGroups[3].capacityType = 'preemptible'), 'nodeGroups[3].capacityType must be one of "on-demand", "spot" (got string "preemptible")'],
    ['a service level of 1', (c) => (c.policy.serviceLevel = 1), 'policy.serviceLevel must be ≤ 0.995 (calibration reads the forecast at 0.5 to 0.995)'],
    ["a service's own service level of 0.3", (c) => (c.services[2].serviceLevel = 0.3), 'services[2].serviceLevel must be ≥ 0.5 (calibration reads the forecast at 0.5 to 0.995)'],
    ['a cost ceiling that is not a mode', (c) => (c.policy.costCeiling = 'hpa'), 'policy.costCeiling must be one of "reactive", "off" (got string "hpa")'],
    ["a service's own service level as a percent", (c) => (c.services[0].serviceLevel = 97), 'services[0].serviceLevel must be ≤ 0.995 (calibration reads the forecast at 0.5 to 0.995)'],
    ['a bad time zone', (c) => (c.calendar.timeZone = 'Mars/Olympus'), 'calendar.timeZone "Mars/Olympus" is not an IANA time zone'],
    ['an event ending before it starts', (c) => (c.calendar.events[0].end = '2026-12-10T22:00:00Z'), 'calendar.events[0].end must be after start'],
    ['a PDB that blocks every drain', (c) => (c.services[1].pdb = { minAvailable: 2 }), 'services[1].pdb.minAvailable must be < hpa.minReplicas (2), or no node can ever be drained'],
    ['an ALB target group on an unknown node group', (c) => (c.albRules[0].targetGroups[1].nodeGroup = 'gpu'), 'albRules[0].targetGroups[1].nodeGroup names "gpu", which is not in nodeGroups'],
    ['an asg group without its name', (c) => (c.nodeGroups[1].type = 'asg'), 'nodeGroups[1].autoScalingGroupName is required when type is "asg"'],
    ['a bad region', (c) => (c.cluster.region = 'useast1'), 'cluster.region must be an AWS region such as us-east-1'],
    ['a fractional HPA utilisation target', (c) => (c.services[0].hpa.metrics[0].targetUtilizationPercent = 72.5), 'services[0].hpa.metrics[0].targetUtilizationPercent must be a whole percent (Kubernetes stores averageUtilization as an integer)'],
    ['a pod label key with a space', (c) => (c.services[0].podLabels = { 'my app': 'gateway' }), 'services[0].podLabels["my app"] must be a Kubernetes label key ([prefix/]name, name ≤ 63 characters of letters, digits, -, _ and .)'],
    ['a pod label value too long', (c) => (c.services[0].podLabels = { app: 'x'.repeat(64) }), 'services[0].podLabels.app must be a Kubernetes label value (≤ 63 characters of letters, digits, -, _ and ., alphanumeric at both ends)'],
    ['empty pod labels', (c) => (c.services[0].podLabels = {}), 'services[0].podLabels must hold at least one label (or leave podLabels out)'],
    ['an external metric with two targets', (c) => (c.services[0].hpa.metrics[3].targetValue = 3), 'services[0].hpa.metrics[3] must set exactly one of targetValue and targetAverageValue'],
    [
      'gaps read as zero on an Average',
      (c) => Object.assign(c.services[0].demand.metric, { stat: 'Average', missingData: 'zero' }),
      'services[0].demand.metric.missingData "zero" needs a statistic that counts (Sum, SampleCount, TS…, TC…), not "Average", which is unknown, not zero, when nothing was published',
    ],
    ['a settle time under a minute', (c) => (c.services[0].demand.metric.settleSeconds = 30), "services[0].demand.metric.settleSeconds must be ≥ 60 (CloudWatch's own minute: sooner, a Sum is read partial)"],
    ['a settle time over 15 minutes', (c) => (c.services[0].demand.metric.settleSeconds = 901), 'services[0].demand.metric.settleSeconds must be ≤ 900'],
    ['an unknown missingData', (c) => (c.services[0].demand.metric.missingData = 'ignore'), 'services[0].demand.metric.missingData must be one of "missing", "zero" (got string "ignore")'],
  ])('%s', (_name, edit, expected) => {
    expect(problemsAfter(edit)).toContain(expected);
  });

  it.each<[string, string | undefined]>([
    ['Sum', 'Sum'],
    ['SampleCount', 'SampleCount'],
    ['a trimmed sum', 'TS(10%:90%)'],
    ['no stat (Sum by default)', undefined],
  ])('reads gaps as zero on a statistic that counts: %s', (_name, stat) => {
    const edit = (c: RawConfig) => {
      const metric = c.services[0].demand.metric;
      metric.missingData = 'zero';
      if (stat === undefined) delete metric.stat;
      else metric.stat = stat;
    };
    expect(problemsAfter(edit)).toEqual([]);
  });

  it('lists every problem at once, sorted', () => {
    const problems = problemsAfter((c) => {
      c.services[1].hpa.maxReplicas = 1;
      c.nodeGroups[0].maxNodes = 2;
      c.services[0].hpa.maxReplica = 4;
    });
    expect(problems).toEqual([
      'nodeGroups[0].maxNodes must be ≥ minNodes (3)',
      'services[0].hpa.maxReplica is not a known key',
      'services[1].hpa.maxReplicas must be ≥ minReplicas (2)',
    ]);
  });

  it('names the file and each problem in the message', () => {
    expect(() => parseConfigYaml('version: 2\n', 'prod.yaml')).toThrow(/prod\.yaml is invalid:\n {2}- /);
    expect(() => parseConfigYaml('version: 1\ncluster: [unclosed\n', 'prod.yaml')).toThrow(/YAML/);
    expect(() => loadConfigFile('does/not/exist.yaml')).toThrow(/cannot be read/);
  });
});

describe('quantities', () => {
  it.each([
    ['500m', 500],
    ['2', 2000],
    ['0.5', 500],
    [1.5, 1500],
    ['2 cores', undefined],
  ])('cpu %s → %s millicores', (input, expected) => {
    expect(parseCpuMillicores(input)).toBe(expected);
  });
  it.each([
    ['512Mi', 512],
    ['4Gi', 4096],
    ['1G', 1_000_000_000 / 1048576], // 953.67 MiB
    ['1024Ki', 1],
    ['4GB', undefined],
  ])('memory %s → %s MiB', (input, expected) => {
    expect(parseMemoryMiB(input)).toBe(expected);
  });
});
