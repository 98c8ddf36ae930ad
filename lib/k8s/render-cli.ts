/**
 * `npm run render [-- <config.yaml>] [--out <dir>] [--check]`: writes the k8s/
 * tree rendered from the config (default config/example.yaml → k8s/). With
 * --check it writes nothing and exits 1 when the tree on disk differs, for CI.
 * Generated files that the config no longer renders are deleted; files without
 * the generated header are never touched.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfigFile } from '../config/load.ts';
import { errorMessage } from '../errors.ts';
import { GENERATED_MARKER, computePlacementWarnings, renderManifestTree } from '../core/manifests/index.ts';
import type { RenderedFile } from '../core/manifests/index.ts';

export interface TreeDrift {
  readonly changed: string[];
  readonly missing: string[];
  readonly stale: string[];
}

function listFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true, recursive: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Files that differ, are missing, or are generated leftovers the config no longer renders. */
export function computeTreeDrift(outDir: string, files: readonly RenderedFile[]): TreeDrift {
  const wanted = new Set(files.map((f) => f.path));
  const changed: string[] = [];
  const missing: string[] = [];
  for (const file of files) {
    const onDisk = readOrUndefined(join(outDir, file.path));
    if (onDisk === undefined) missing.push(file.path);
    else if (onDisk !== file.content) changed.push(file.path);
  }
  const stale = listFiles(outDir).filter((path) => !wanted.has(path) && (readOrUndefined(join(outDir, path)) ?? '').includes(GENERATED_MARKER));
  return { changed, missing, stale };
}

export function writeTree(outDir: string, files: readonly RenderedFile[]): TreeDrift {
  const drift = computeTreeDrift(outDir, files);
  // The drift already read every file: write only the ones it found changed or missing.
  const toWrite = new Set([...drift.changed, ...drift.missing]);
  for (const file of files) {
    if (!toWrite.has(file.path)) continue;
    const path = join(outDir, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.content);
  }
  for (const path of drift.stale) rmSync(join(outDir, path));
  return drift;
}

function main(argv: readonly string[]): number {
  let configPath = 'config/example.yaml';
  let outDir = 'k8s';
  let check = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--check') check = true;
    else if (arg === '--out') outDir = argv[++i] ?? outDir;
    else if (arg !== undefined && !arg.startsWith('--')) configPath = arg;
    else {
      console.error(`unknown argument ${String(arg)}\nusage: npm run render -- [config.yaml] [--out dir] [--check]`);
      return 2;
    }
  }
  const config = loadConfigFile(configPath);
  for (const warning of computePlacementWarnings(config)) console.warn(`warning: ${warning}`);
  const files = renderManifestTree(config, { source: configPath.split(sep).join('/') });
  if (check) {
    const drift = computeTreeDrift(outDir, files);
    const problems = [...drift.changed.map((p) => `changed ${p}`), ...drift.missing.map((p) => `missing ${p}`), ...drift.stale.map((p) => `stale ${p}`)];
    if (problems.length === 0) return 0;
    console.error(`${outDir}/ is out of date with ${configPath}; run \`npm run render\`:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    return 1;
  }
  const drift = writeTree(outDir, files);
  console.log(`rendered ${files.length} files into ${outDir}/ (${drift.changed.length} changed, ${drift.missing.length} new, ${drift.stale.length} removed)`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    console.error(errorMessage(error));
    process.exitCode = 1;
  }
}
