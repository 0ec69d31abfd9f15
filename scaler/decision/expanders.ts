/** Choosing among node groups that could each host pending pods (cluster-autoscaler's expanders). */
import { formatCost } from "./cost.js";
import type { ExpanderName } from "./options.js";
import type { NodeGroup, Resources } from "./types.js";

export interface ScaleUpOption {
  group: NodeGroup;
  newNodes: number;
  pods: string[];
  /** Requests of everything the new nodes would run, DaemonSet pods included. */
  used: Resources;
}

const EPSILON = 1e-9;

/** Idle CPU share plus idle memory share of the new nodes: lower is better. */
export function waste(option: ScaleUpOption): number {
  const cpu = option.newNodes * option.group.capacity.cpu;
  const memory = option.newNodes * option.group.capacity.memory;
  return (cpu - option.used.cpu) / cpu + (memory - option.used.memory) / memory;
}

function pricePerPod(option: ScaleUpOption): number {
  return option.group.pricePerHour === undefined
    ? Number.POSITIVE_INFINITY
    : (option.group.pricePerHour * option.newNodes) / option.pods.length;
}

function keepBest(options: ScaleUpOption[], score: (o: ScaleUpOption) => number): ScaleUpOption[] {
  const best = Math.min(...options.map(score));
  return options.filter((o) => score(o) <= best + EPSILON);
}

/** Narrows the options by each expander in turn; a random pick settles what is still tied. */
export function expand(
  options: ScaleUpOption[],
  expanders: ExpanderName[],
  random: () => number,
): ScaleUpOption | undefined {
  let left = options;
  for (const expander of expanders) {
    if (left.length <= 1) break;
    switch (expander) {
      case "least-waste":
        left = keepBest(left, waste);
        break;
      case "most-pods":
        left = keepBest(left, (o) => -o.pods.length);
        break;
      case "priority":
        left = keepBest(left, (o) => -o.group.priority);
        break;
      case "price":
        left = keepBest(left, pricePerPod);
        break;
      case "random":
        left = [left[Math.floor(random() * left.length)] as ScaleUpOption];
        break;
    }
  }
  return left.length <= 1 ? left[0] : left[Math.floor(random() * left.length)];
}

/** Why the chosen option won, for the scale-up's reason. */
export function describeChoice(
  option: ScaleUpOption,
  expanders: ExpanderName[],
  alternatives: number,
): string {
  if (alternatives <= 1) return "the only node group that can host them";
  const detail: Record<ExpanderName, string> = {
    "least-waste": `least waste (${(waste(option) * 50).toFixed(0)}% idle on average)`,
    "most-pods": `most pods placed (${option.pods.length})`,
    priority: `highest priority (${option.group.priority})`,
    price:
      option.group.pricePerHour === undefined
        ? "lowest price per pod (its price unknown)"
        : `lowest price per pod (${formatCost(pricePerPod(option))}/h)`,
    random: "random pick",
  };
  return `chosen among ${alternatives} node groups by ${expanders.map((e) => detail[e]).join(", then ")}`;
}
