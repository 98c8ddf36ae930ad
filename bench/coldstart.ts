/**
 * `npm run bench:coldstart`: per Lambda function, the bundle as serverless.yml
 * builds it (esbuild, ESM, minified) — its size raw and deflated (what the zip
 * stores) — and its cold init time (module load + handler construction) in a
 * fresh `node` process, as a ratio to an empty handler bundled the same way.
 * Target: every bundle ≤ 1.5 MB minified (exit code 1 otherwise).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { build } from 'esbuild';
import { median } from '../lib/core/forecast/numeric.ts';

const ROOT = new URL('..', import.meta.url).pathname;
/** Every Lambda function serverless.yml deploys, in its order: one added there is measured here without an edit. */
const FUNCTIONS = [...readFileSync(join(ROOT, 'serverless.yml'), 'utf8').matchAll(/^\s+handler: functions\/(\w+)\.handler$/gm)].map((m) => m[1]!);
if (FUNCTIONS.length === 0) throw new Error('no `handler: functions/<name>.handler` entries found in serverless.yml');
const LIMIT_BYTES = 1.5 * 1024 * 1024;
/** Fresh processes per function; the median is reported. */
const RUNS = 7;

async function bundle(entry: string, outfile: string): Promise<void> {
  // The same options as custom.esbuild in serverless.yml.
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    minify: true,
    keepNames: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    mainFields: ['module', 'main'],
    external: ['dynalite'],
    banner: { js: "import { createRequire as __prescaleCreateRequire } from 'node:module'; const require = __prescaleCreateRequire(import.meta.url);" },
    logLevel: 'error',
  });
}

/** Milliseconds from before `import()` to the handler being a function, measured inside a fresh node. */
function initMs(file: string): number {
  const script = `const t0 = performance.now(); const m = await import(${JSON.stringify(`file://${file}`)}); if (typeof m.handler !== 'function') throw new Error('no handler'); process.stdout.write(String(performance.now() - t0));`;
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', POWERTOOLS_METRICS_DISABLED: 'true' },
    encoding: 'utf8',
  });
  return Number(output);
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MB`;

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'prescale-coldstart-'));
  try {
    const emptyEntry = join(dir, 'empty.ts');
    writeFileSync(emptyEntry, 'export const handler = async () => ({});\n');
    const rows: { name: string; bytes: number; zipped: number; ms: number }[] = [];
    const measure = async (name: string, entry: string) => {
      const outfile = join(dir, `${name}.mjs`);
      await bundle(entry, outfile);
      const bytes = statSync(outfile).size;
      const zipped = deflateRawSync(readFileSync(outfile), { level: 9 }).length;
      const times = Array.from({ length: RUNS }, () => initMs(outfile));
      rows.push({ name, bytes, zipped, ms: median(times) });
    };
    await measure('(empty)', emptyEntry);
    for (const fn of FUNCTIONS) await measure(fn, join(ROOT, 'functions', `${fn}.ts`));
    const baseline = rows[0]!.ms;
    const lines = [
      `cold init: median of ${RUNS} fresh node ${process.version} processes (module load + handler construction); ratio to an empty handler`,
      '',
      `${'function'.padEnd(14)}${'minified'.padStart(10)}${'zipped'.padStart(10)}${'init ms'.padStart(10)}${'ratio'.padStart(8)}  ≤ 1.5 MB`,
      ...rows.map((r) => `${r.name.padEnd(14)}${mb(r.bytes).padStart(10)}${mb(r.zipped).padStart(10)}${r.ms.toFixed(1).padStart(10)}${(r.ms / baseline).toFixed(1).padStart(7)}×  ${r.bytes <= LIMIT_BYTES ? 'yes' : 'NO'}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return rows.every((r) => r.bytes <= LIMIT_BYTES) ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
