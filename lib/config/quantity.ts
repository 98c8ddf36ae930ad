/**
 * Kubernetes resource quantities (`500m`, `2`, `512Mi`, `4Gi`, `1G`) to the
 * units the planner works in. Returns undefined for anything it cannot read so
 * the schema can say where the bad value is.
 */
const MEMORY_FACTORS_TO_MIB: Readonly<Record<string, number>> = {
  Ki: 1 / 1024,
  Mi: 1,
  Gi: 1024,
  Ti: 1024 * 1024,
  k: 1000 / (1024 * 1024),
  M: 1_000_000 / (1024 * 1024),
  G: 1_000_000_000 / (1024 * 1024),
  T: 1_000_000_000_000 / (1024 * 1024),
  '': 1 / (1024 * 1024),
};

export function parseCpuMillicores(quantity: string | number): number | undefined {
  if (typeof quantity === 'number') return Number.isFinite(quantity) && quantity >= 0 ? Math.round(quantity * 1000) : undefined;
  const match = /^(\d+(?:\.\d+)?)(m?)$/.exec(quantity.trim());
  if (!match) return undefined;
  const value = Number(match[1]);
  return match[2] === 'm' ? Math.round(value) : Math.round(value * 1000);
}

export function parseMemoryMiB(quantity: string | number): number | undefined {
  if (typeof quantity === 'number') return Number.isFinite(quantity) && quantity >= 0 ? quantity / (1024 * 1024) : undefined;
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity.trim());
  if (!match) return undefined;
  const factor = MEMORY_FACTORS_TO_MIB[match[2] ?? ''];
  return factor === undefined ? undefined : Number(match[1]) * factor;
}

export function formatCpu(millicores: number): string {
  return millicores % 1000 === 0 ? String(millicores / 1000) : `${millicores}m`;
}

export function formatMemory(mebibytes: number): string {
  return mebibytes % 1024 === 0 ? `${mebibytes / 1024}Gi` : `${Math.round(mebibytes)}Mi`;
}
