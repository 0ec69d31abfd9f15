import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { CHART_DIR } from "../deploy/renderBase.js";

const METRIC = /\b(?:cluster_autoscaler|vpsie_autoscaler|process)_[a-z_]+\b/g;

/** Every metric name the chart's dashboard and alert rules query, each with where it is queried. */
export async function queriedMetrics(): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const dashboard = JSON.parse(await readFile(join(CHART_DIR, "files", "dashboard.json"), "utf8")) as {
    panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
  };
  for (const panel of dashboard.panels)
    for (const target of panel.targets)
      for (const name of target.expr.match(METRIC) ?? []) found.set(name, `dashboard panel "${panel.title}"`);
  const alerts = parse(await readFile(join(CHART_DIR, "files", "alerts.yaml"), "utf8")) as {
    groups: Array<{ rules: Array<{ alert: string; expr: string }> }>;
  };
  for (const group of alerts.groups)
    for (const rule of group.rules)
      for (const name of rule.expr.match(METRIC) ?? []) found.set(name, `alert ${rule.alert}`);
  return found;
}

/**
 * Whether a Prometheus text exposition exports the metric: its `# TYPE` line, or for a histogram's
 * `_bucket`/`_count`/`_sum` series the histogram's (a counter with labels has no sample until it counts).
 */
export function exports(exposition: string, name: string): boolean {
  const base = name.replace(/_(bucket|count|sum)$/, "");
  return (
    exposition.includes(`# TYPE ${name} `) || new RegExp(`^# TYPE ${base} histogram$`, "m").test(exposition)
  );
}
