/**
 * Money in decisions: what a node group's nodes cost per hour, and the change a scale action makes.
 * Prices are VPSie's hourly prices of the group's Kubernetes size; a group whose price is unknown
 * costs nothing here, and a limit in money refuses to grow it (see scaleUp.ts).
 */
import type { NodeGroup } from "./types.js";

export interface CostChange {
  /** $/h the action adds (negative: saves). */
  deltaPerHour: number;
  /** The group's $/h after it. */
  groupPerHour: number;
}

export function groupCostPerHour(group: Pick<NodeGroup, "pricePerHour">, nodes: number): number {
  return (group.pricePerHour ?? 0) * nodes;
}

export function costChange(pricePerHour: number, from: number, to: number): CostChange {
  return { deltaPerHour: pricePerHour * (to - from), groupPerHour: pricePerHour * to };
}

/** Dollars with cents, and up to four digits where a price per hour needs them ($0.0333, $0.16). */
export function formatCost(dollars: number): string {
  const abs = Math.abs(dollars);
  const text = abs >= 1 ? abs.toFixed(2) : abs.toFixed(4).replace(/(\.\d\d\d??)0+$/, "$1");
  return `${dollars < 0 && Number(text) !== 0 ? "-" : ""}$${text}`;
}

/** "+$0.0667/h, group $0.2000/h": how update messages and the console show a cost change. */
export function describeCostChange(change: CostChange): string {
  const sign = change.deltaPerHour > 0 ? "+" : "";
  return `${sign}${formatCost(change.deltaPerHour)}/h, group ${formatCost(change.groupPerHour)}/h`;
}
