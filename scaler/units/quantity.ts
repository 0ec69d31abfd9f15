/**
 * Kubernetes resource quantities ("500m", "1.5", "4Gi", "1e3") as plain numbers: CPU in millicores,
 * everything else in base units (bytes, pods).
 */
const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};
const PATTERN = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/;

export class QuantityError extends Error {
  override name = "QuantityError";
}

/** The quantity's value in base units; throws a QuantityError naming the value when it is not one. */
export function parseQuantity(value: string | number): number {
  if (typeof value === "number") return value;
  const match = PATTERN.exec(value.trim());
  if (!match) {
    throw new QuantityError(`"${value}" is not a Kubernetes quantity (examples: 500m, 2, 1.5Gi, 512Mi, 10G)`);
  }
  const [, number, suffix, exponent] = match;
  const base = Number(number);
  if (exponent !== undefined) return base * 10 ** Number(exponent);
  const unit = suffix ?? "";
  return base * (BINARY[unit] ?? DECIMAL[unit] ?? 1);
}

/** CPU as millicores, rounded up the way the scheduler rounds (1 m is the smallest unit). */
export function parseCpu(value: string | number): number {
  return Math.ceil(parseQuantity(value) * 1000 - 1e-9);
}

export function formatCpu(millicores: number): string {
  return millicores % 1000 === 0 ? String(millicores / 1000) : `${millicores}m`;
}

export function formatBytes(bytes: number): string {
  for (const [unit, size] of [
    ["Gi", 2 ** 30],
    ["Mi", 2 ** 20],
    ["Ki", 2 ** 10],
  ] as const) {
    if (bytes >= size) {
      const value = bytes / size;
      return `${Number.isInteger(value) ? value : value.toFixed(1)}${unit}`;
    }
  }
  return String(bytes);
}
