/**
 * The manifests run of one cluster: render every service's HPA, VPA and PDB
 * from the configuration and server-side apply them, sorted by object key so
 * the apply order and the output are reproducible.
 */
import type { PrescaleConfig } from '../config/schema.ts';
import { FIELD_MANAGER } from '../core/manifests/labels.ts';
import { renderManifests } from '../core/manifests/index.ts';
import type { ApplyResult, ManifestApplier, ManifestObject } from '../ports.ts';
import { compareStrings } from '../core/canonical.ts';

interface Pruner {
  prune(desired: readonly ManifestObject[], clusterName: string): Promise<readonly { readonly key: string; readonly outcome: string; readonly message?: string | undefined }[]>;
}

function canPrune(applier: ManifestApplier): applier is ManifestApplier & Pruner {
  return typeof (applier as Partial<Pruner>).prune === 'function';
}

export async function runManifests(config: PrescaleConfig, applier: ManifestApplier): Promise<ApplyResult[]> {
  // Every object prescale owns for the cluster (HPA, VPA, PDB), already sorted by key.
  const desired = renderManifests(config);
  // force: false — a field another manager owns is a conflict to report, not to take over.
  const results = await applier.apply(desired, { fieldManager: FIELD_MANAGER, force: false });
  // Objects prescale made that left the config go, but only once everything wanted is in place.
  const pruned: ApplyResult[] =
    canPrune(applier) && results.every((r) => r.outcome !== 'failed')
      ? (await applier.prune(desired, config.cluster.name)).map((p) => ({ key: p.key, outcome: p.outcome === 'failed' ? 'failed' : 'applied', message: `pruned: ${p.message ?? p.outcome}` }))
      : [];
  return [...results, ...pruned].sort((a, b) => compareStrings(a.key, b.key));
}
