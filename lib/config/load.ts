/**
 * Loads a cluster configuration from YAML (or an already-parsed object) and
 * reports every problem at once, each as `path rule`.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { priceProblems } from '../core/budget/input.ts';
import { accumulatesOverPeriod } from '../core/cloudwatch-retention.ts';
import { bundledPriceTable, type PriceTable } from '../core/budget/prices.ts';
import { ValidationError } from '../errors.ts';
import { configSchema, nodeGroupSchema, type PrescaleConfig } from './schema.ts';
import { parseCpuMillicores, parseMemoryMiB } from './quantity.ts';
import { formatIssue } from './issues.ts';

// --- rules that span fields, checked on the raw input so they are reported beside shape errors ---

type Raw = Record<string, unknown>;
const isObject = (value: unknown): value is Raw => typeof value === 'object' && value !== null && !Array.isArray(value);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const cpu = (value: unknown): number | undefined => (typeof value === 'string' || typeof value === 'number' ? parseCpuMillicores(value) : undefined);
const mem = (value: unknown): number | undefined => (typeof value === 'string' || typeof value === 'number' ? parseMemoryMiB(value) : undefined);

function duplicates(items: unknown[], key: string, path: string, problems: string[]): void {
  const seen = new Map<string, number>();
  items.forEach((item, index) => {
    const value = isObject(item) ? str(item[key]) : undefined;
    if (value === undefined) return;
    const first = seen.get(value);
    if (first !== undefined) problems.push(`${path}[${index}].${key} "${value}" is already used by ${path}[${first}]`);
    else seen.set(value, index);
  });
}

function tolerates(tolerations: unknown[], taintValue: Raw): boolean {
  return tolerations.some(
    (t) => isObject(t) && t.key === taintValue.key && (t.value === undefined || t.value === taintValue.value) && (t.effect === undefined || t.effect === taintValue.effect),
  );
}

function crossFieldProblems(raw: unknown): string[] {
  const problems: string[] = [];
  if (!isObject(raw)) return problems;
  const nodeGroups = list(raw.nodeGroups);
  const services = list(raw.services);
  const groupsByName = new Map<string, Raw>();
  duplicates(nodeGroups, 'name', 'nodeGroups', problems);
  duplicates(services, 'name', 'services', problems);

  nodeGroups.forEach((group, i) => {
    if (!isObject(group)) return;
    const groupName = str(group.name);
    if (groupName !== undefined && !groupsByName.has(groupName)) groupsByName.set(groupName, group);
    const min = num(group.minNodes);
    const max = num(group.maxNodes);
    if (min !== undefined && max !== undefined && max < min) problems.push(`nodeGroups[${i}].maxNodes must be ≥ minNodes (${min})`);
    if (group.type === 'asg' && group.autoScalingGroupName === undefined) problems.push(`nodeGroups[${i}].autoScalingGroupName is required when type is "asg"`);
  });

  services.forEach((svc, i) => {
    if (!isObject(svc)) return;
    const at = `services[${i}]`;
    const hpa = isObject(svc.hpa) ? svc.hpa : undefined;
    const minReplicas = num(hpa?.minReplicas);
    const maxReplicas = num(hpa?.maxReplicas);
    if (minReplicas !== undefined && maxReplicas !== undefined && maxReplicas < minReplicas) {
      problems.push(`${at}.hpa.maxReplicas must be ≥ minReplicas (${minReplicas})`);
    }
    const hpaResources = new Set(list(hpa?.metrics).flatMap((m) => (isObject(m) && (m.type === 'cpu' || m.type === 'memory') ? [m.type] : [])));
    list(hpa?.metrics).forEach((metric, j) => {
      if (isObject(metric) && metric.type === 'external' && (metric.targetValue === undefined) === (metric.targetAverageValue === undefined)) {
        problems.push(`${at}.hpa.metrics[${j}] must set exactly one of targetValue and targetAverageValue`);
      }
    });

    const metric = isObject(svc.demand) && isObject(svc.demand.metric) ? svc.demand.metric : undefined;
    if (metric?.missingData === 'zero' && !accumulatesOverPeriod(str(metric.stat) ?? 'Sum')) {
      problems.push(`${at}.demand.metric.missingData "zero" needs a statistic that counts (Sum, SampleCount, TS…, TC…), not "${String(metric.stat)}", which is unknown, not zero, when nothing was published`);
    }

    const requests = isObject(svc.requests) ? svc.requests : undefined;
    const requestCpu = cpu(requests?.cpu);
    const requestMemory = mem(requests?.memory);
    const tolerations = list(svc.tolerations);
    let fitsSomewhere = false;
    let checkedAGroup = false;
    list(svc.nodeGroups).forEach((groupName, j) => {
      if (typeof groupName !== 'string') return;
      const group = groupsByName.get(groupName);
      if (group === undefined) {
        problems.push(`${at}.nodeGroups[${j}] names node group "${groupName}", which is not in nodeGroups`);
        return;
      }
      for (const taintValue of list(group.taints)) {
        if (isObject(taintValue) && taintValue.effect !== 'PreferNoSchedule' && !tolerates(tolerations, taintValue)) {
          problems.push(`${at}.nodeGroups[${j}] names "${groupName}", whose taint ${String(taintValue.key)}=${String(taintValue.value ?? '')}:${String(taintValue.effect)} the service does not tolerate`);
        }
      }
      const allocatable = isObject(group.allocatable) ? group.allocatable : undefined;
      const nodeCpu = cpu(allocatable?.cpu);
      const nodeMemory = mem(allocatable?.memory);
      if (requestCpu === undefined || requestMemory === undefined || nodeCpu === undefined || nodeMemory === undefined) return;
      checkedAGroup = true;
      if (requestCpu <= nodeCpu && requestMemory <= nodeMemory) fitsSomewhere = true;
    });
    if (checkedAGroup && !fitsSomewhere) problems.push(`${at}.requests must fit on one node of at least one of its node groups`);

    const vpa = isObject(svc.vpa) ? svc.vpa : undefined;
    if (vpa !== undefined) {
      const minAllowed = isObject(vpa.minAllowed) ? vpa.minAllowed : undefined;
      const maxAllowed = isObject(vpa.maxAllowed) ? vpa.maxAllowed : undefined;
      const minCpu = cpu(minAllowed?.cpu);
      const maxCpu = cpu(maxAllowed?.cpu);
      const minMemory = mem(minAllowed?.memory);
      const maxMemory = mem(maxAllowed?.memory);
      if (minCpu !== undefined && maxCpu !== undefined && maxCpu < minCpu) problems.push(`${at}.vpa.maxAllowed.cpu must be ≥ minAllowed.cpu (${String(minAllowed?.cpu)})`);
      if (minMemory !== undefined && maxMemory !== undefined && maxMemory < minMemory) problems.push(`${at}.vpa.maxAllowed.memory must be ≥ minAllowed.memory (${String(minAllowed?.memory)})`);
      const updateMode = vpa.updateMode ?? 'Off';
      const controlled = vpa.controlledResources === undefined ? ['cpu', 'memory'] : list(vpa.controlledResources);
      const overlap = controlled.filter((r): r is string => typeof r === 'string' && hpaResources.has(r)).sort();
      if (updateMode !== 'Off' && overlap.length > 0) {
        problems.push(`${at}.vpa controls ${overlap.join(' and ')}, which its HPA scales on: use updateMode "Off" (recommendations only) or drop ${overlap.join(' and ')} from vpa.controlledResources`);
      }
    }

    const pdb = isObject(svc.pdb) ? svc.pdb : undefined;
    if (pdb !== undefined) {
      if ((pdb.minAvailable === undefined) === (pdb.maxUnavailable === undefined)) problems.push(`${at}.pdb must set exactly one of minAvailable and maxUnavailable`);
      const minAvailable = num(pdb.minAvailable);
      if (minAvailable !== undefined && minReplicas !== undefined && minAvailable >= minReplicas) {
        problems.push(`${at}.pdb.minAvailable must be < hpa.minReplicas (${minReplicas}), or no node can ever be drained`);
      }
    }
  });

  duplicates(list(raw.albRules), 'name', 'albRules', problems);
  list(raw.albRules).forEach((rule, i) => {
    if (!isObject(rule)) return;
    duplicates(list(rule.targetGroups), 'arn', `albRules[${i}].targetGroups`, problems);
    list(rule.targetGroups).forEach((tg, j) => {
      if (!isObject(tg)) return;
      const groupName = str(tg.nodeGroup);
      if (groupName !== undefined && !groupsByName.has(groupName)) problems.push(`albRules[${i}].targetGroups[${j}].nodeGroup names "${groupName}", which is not in nodeGroups`);
      const min = num(tg.minWeight);
      const max = num(tg.maxWeight);
      if (min !== undefined && max !== undefined && max < min) problems.push(`albRules[${i}].targetGroups[${j}].maxWeight must be ≥ minWeight (${min})`);
    });
  });

  const calendar = isObject(raw.calendar) ? raw.calendar : undefined;
  const timeZone = str(calendar?.timeZone);
  if (timeZone !== undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone });
    } catch {
      problems.push(`calendar.timeZone "${timeZone}" is not an IANA time zone`);
    }
  }
  list(calendar?.events).forEach((event, i) => {
    if (!isObject(event)) return;
    const start = Date.parse(str(event.start) ?? '');
    const end = Date.parse(str(event.end) ?? '');
    if (Number.isFinite(start) && Number.isFinite(end) && end <= start) problems.push(`calendar.events[${i}].end must be after start`);
  });
  return problems;
}

// --- prices, checked on the raw input too: a group the planner cannot price would look free to it ---

export interface LoadOptions {
  /**
   * The table every node group without a `usdPerHour` override must be priced
   * by (default: the bundled one, which the pipeline prices with). `false`
   * skips the check: `prescale prices refresh` loads configs to add their
   * missing prices.
   */
  readonly priceTable?: PriceTable | false;
}

const regionSchema = configSchema.shape.cluster.shape.region;
/** The fields a node group is priced by, under the schema's own rules (other keys ignored). */
const nodeGroupPricingSchema = z.object(nodeGroupSchema.pick({ name: true, instanceTypes: true, capacityType: true, usdPerHour: true }).shape);

/** Node groups the table cannot price; a group whose pricing fields are malformed is left to the schema's message. */
function unpricedProblems(raw: unknown, table: PriceTable): string[] {
  if (!isObject(raw) || !isObject(raw.cluster)) return [];
  const region = regionSchema.safeParse(raw.cluster.region);
  if (!region.success) return [];
  const nodeGroups = list(raw.nodeGroups).map((group) => nodeGroupPricingSchema.safeParse(group).data);
  return priceProblems({ cluster: { region: region.data }, nodeGroups }, table);
}

/** Validates an already-parsed object. `source` names it in the error. */
export function parseConfig(raw: unknown, source = 'config', options: LoadOptions = {}): PrescaleConfig {
  const result = configSchema.safeParse(raw, { reportInput: true });
  const table = options.priceTable ?? bundledPriceTable();
  const problems = [
    ...(result.success ? [] : result.error.issues.flatMap((issue) => formatIssue(issue))),
    ...crossFieldProblems(raw),
    ...(table === false ? [] : unpricedProblems(raw, table)),
  ];
  if (problems.length > 0 || !result.success) throw new ValidationError(source, [...new Set(problems)].sort());
  return result.data;
}

export function parseConfigYaml(text: string, source = 'config', options: LoadOptions = {}): PrescaleConfig {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ValidationError(source, document.errors.map((e) => `YAML ${e.message.split('\n')[0] ?? e.message}`));
  }
  return parseConfig(document.toJS(), source, options);
}

export function loadConfigFile(path: string, options: LoadOptions = {}): PrescaleConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ValidationError(path, [`cannot be read: ${(error as Error).message}`]);
  }
  return parseConfigYaml(text, path, options);
}
