/** How configuration describes the labels and taints of a node group's nodes (plan's groups file, stack config). */
import { z } from "zod";

export const NodeLabels = z.record(z.string(), z.string()).default({});

export const NodeTaints = z
  .array(
    z
      .object({
        key: z.string().min(1),
        value: z.string().optional(),
        effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
      })
      .strict(),
  )
  .default([]);
