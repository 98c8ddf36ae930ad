/**
 * k8s/ is what config/example.yaml renders, byte for byte, and kustomize can
 * build it on its own.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { loadConfigFile } from '../../../lib/config/load.ts';
import { renderManifestTree, renderManifests } from '../../../lib/core/manifests/index.ts';
import { computeTreeDrift } from '../../../lib/k8s/render-cli.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const k8sDir = join(root, 'k8s');
const config = loadConfigFile(join(root, 'config/example.yaml'));
const files = renderManifestTree(config, { source: 'config/example.yaml' });

function hasKubectl(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('k8s/', () => {
  it('equals what config/example.yaml renders', () => {
    const drift = computeTreeDrift(k8sDir, files);
    const problems = [...drift.changed.map((p) => `changed k8s/${p}`), ...drift.missing.map((p) => `missing k8s/${p}`), ...drift.stale.map((p) => `stale k8s/${p}`)];
    expect(problems, `k8s/ is out of date with config/example.yaml: run \`npm run render\`\n${problems.join('\n')}`).toEqual([]);
  });

  describe.skipIf(!hasKubectl())('with kustomize (kubectl kustomize)', () => {
    it('builds k8s/ on its own into exactly the rendered objects and the CA ConfigMap', () => {
      const built = execFileSync('kubectl', ['kustomize', k8sDir], { encoding: 'utf8' });
      const documents = built.split(/^---$/m).map((doc) => parseDocument(doc).toJS() as { kind: string; metadata: { name: string } });
      expect(documents.map((d) => `${d.kind}/${d.metadata.name}`).sort()).toEqual(
        [...renderManifests(config).map((o) => `${o.kind}/${o.metadata.name}`), 'ConfigMap/prescale-cluster-autoscaler'].sort(),
      );
      // YAML 1.1 parsers must still see the string "Off".
      expect(built).toContain('updateMode: "Off"');
    });

    it('the placement component patches a Deployment owned elsewhere, and skips the ones that owner does not build', () => {
      const dir = mkdtempSync(join(tmpdir(), 'prescale-kustomize-'));
      try {
        writeFileSync(
          join(dir, 'deployment.yaml'),
          [
            'apiVersion: apps/v1',
            'kind: Deployment',
            'metadata: { name: llm, namespace: debate }',
            'spec:',
            '  replicas: 2',
            '  selector: { matchLabels: { app.kubernetes.io/name: llm } }',
            '  template:',
            '    metadata: { labels: { app.kubernetes.io/name: llm } }',
            '    spec: { containers: [{ name: llm, image: "llm:1" }] }',
            '',
          ].join('\n'),
        );
        writeFileSync(join(dir, 'kustomization.yaml'), `resources: [deployment.yaml]\ncomponents: [${relative(dir, join(k8sDir, 'placement'))}]\n`);
        const built = parseDocument(execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' })).toJS() as {
          spec: { replicas: number; template: { spec: { containers: unknown[]; tolerations: unknown[]; affinity: { nodeAffinity: unknown } } } };
        };
        expect(built.spec.replicas).toBe(2); // the owner's fields stay
        expect(built.spec.template.spec.containers).toEqual([{ name: 'llm', image: 'llm:1' }]);
        expect(built.spec.template.spec.tolerations).toEqual([{ effect: 'NoSchedule', key: 'dedicated', operator: 'Equal', value: 'llm' }]);
        expect(built.spec.template.spec.affinity.nodeAffinity).toBeDefined();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
