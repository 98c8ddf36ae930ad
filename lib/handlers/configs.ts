/**
 * The clusters a deployment manages: `PRESCALE_CONFIG` names one YAML file or
 * a directory of them (bundled with the function). Every file is validated
 * and every problem of every file is reported at once.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { loadConfigFile } from '../config/load.ts';
import type { PrescaleConfig } from '../config/schema.ts';
import { isPrescaleError, ValidationError } from '../errors.ts';
import { compareStrings } from '../core/canonical.ts';

export function configFiles(path: string): string[] {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch (error) {
    throw new ValidationError(`PRESCALE_CONFIG ${path}`, [`cannot be read: ${(error as Error).message}`]);
  }
  if (!isDirectory) return [path];
  const files = readdirSync(path)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => join(path, name));
  if (files.length === 0) throw new ValidationError(`PRESCALE_CONFIG ${path}`, ['is a directory with no .yaml or .yml file']);
  return files;
}

/** Cluster names must be unique across files: the lease and the queue key on them. */
export function loadConfigs(path: string): PrescaleConfig[] {
  const configs: PrescaleConfig[] = [];
  const problems: string[] = [];
  const fileByCluster = new Map<string, string>();
  for (const file of configFiles(path)) {
    try {
      const config = loadConfigFile(file);
      const first = fileByCluster.get(config.cluster.name);
      if (first !== undefined) problems.push(`${file}: cluster.name "${config.cluster.name}" is already used by ${first}`);
      else fileByCluster.set(config.cluster.name, file);
      configs.push(config);
    } catch (error) {
      if (!isPrescaleError(error)) throw error;
      problems.push(error.message);
    }
  }
  if (problems.length > 0) throw new ValidationError(`PRESCALE_CONFIG ${path}`, problems);
  return configs.sort((a, b) => compareStrings(a.cluster.name, b.cluster.name));
}

/**
 * Relative paths are resolved against the function's code root (LAMBDA_TASK_ROOT
 * on Lambda), else the working directory: `invoke local` sets LAMBDA_TASK_ROOT
 * to /var/task, which does not exist on a laptop.
 */
export function resolveConfigPath(path: string, env: Readonly<Record<string, string | undefined>>): string {
  if (isAbsolute(path)) return path;
  const taskRoot = env.LAMBDA_TASK_ROOT;
  if (taskRoot !== undefined && existsSync(resolve(taskRoot, path))) return resolve(taskRoot, path);
  return resolve(process.cwd(), path);
}

export function findConfig(configs: readonly PrescaleConfig[], cluster: string, field = 'cluster'): PrescaleConfig {
  const config = configs.find((c) => c.cluster.name === cluster);
  if (config === undefined) {
    throw new ValidationError('request', [`${field} "${cluster}" is not a configured cluster (configured: ${configs.map((c) => c.cluster.name).join(', ') || 'none'})`]);
  }
  return config;
}
