/**
 * The manifests run of one cluster: render every service's HPA, VPA and PDB
 * from the configuration and server-side apply them, sorted by object key so
 * the apply order and the output are reproducible.
 */
import type { PrescaleConfig } from '../config/schema.ts';
import { FIELD_MANAGER } from '../core/manifests/labels.ts';
import { renderHpa } from '../core/manifests/hpa.ts';
import { renderPdb } from '../core/manifests/pdb.ts';
import { renderVpa } from '../core/manifests/vpa.ts';
import type { ApplyResult, ManifestApplier, ManifestObject } from '../ports.ts';

export function objectKey(object: Pick<ManifestObject, 'apiVersion' | 'kind' | 'metadata'>): string {
  return `${object.apiVersion}/${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
}

/** Every object prescale owns for the cluster. */
export function renderClusterManifests(config: PrescaleConfig): ManifestObject[] {
  const objects = config.services.flatMap((service) => [renderHpa(config, service), renderVpa(config, service), renderPdb(config, service)].filter((o): o is ManifestObject => o !== undefined));
  return objects.sort((a, b) => (objectKey(a) < objectKey(b) ? -1 : objectKey(a) > objectKey(b) ? 1 : 0));
}

export async function runManifests(config: PrescaleConfig, applier: ManifestApplier): Promise<ApplyResult[]> {
  // force: false — a field another manager owns is a conflict to report, not to take over.
  const results = await applier.apply(renderClusterManifests(config), { fieldManager: FIELD_MANAGER, force: false });
  return [...results].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
