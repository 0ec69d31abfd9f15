/** /healthz, /readyz and /metrics for probes and Prometheus. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ScalerMetrics } from "./metrics.js";

export interface HealthSource {
  /** Why the process is unhealthy (the loop stalled), or undefined. */
  unhealthy(): string | undefined;
  /** Why it is not ready (caches not synced), or undefined. */
  notReady(): string | undefined;
}

export async function startObservabilityServer(
  address: string,
  metrics: ScalerMetrics,
  health: HealthSource,
): Promise<{ server: Server; url: string }> {
  const match = /^(.*):(\d+)$/.exec(address);
  const host = match?.[1] || "0.0.0.0";
  const port = Number(match?.[2] ?? 8085);
  const server = createServer((req, res) => {
    const answer = (status: number, body: string, type = "text/plain; charset=utf-8") => {
      res.writeHead(status, { "Content-Type": type });
      res.end(body);
    };
    if (req.url === "/healthz") {
      const why = health.unhealthy();
      return answer(why ? 503 : 200, why ?? "ok");
    }
    if (req.url === "/readyz") {
      const why = health.notReady();
      return answer(why ? 503 : 200, why ?? "ok");
    }
    if (req.url === "/metrics") {
      void metrics.registry.metrics().then((text) => answer(200, text, metrics.registry.contentType));
      return;
    }
    answer(404, "not found: /healthz, /readyz, /metrics");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  return { server, url: `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${bound.port}` };
}
