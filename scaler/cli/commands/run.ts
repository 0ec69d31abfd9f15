import { randomUUID } from "node:crypto";
import { join, resolve } from "node:path";
import { hostname } from "node:os";
import { Command, InvalidArgumentError, Option } from "commander";
import { LOG_LEVELS, type LogLevel } from "../../log/logger.js";
import { helpText } from "../help.js";
import { UsageError } from "../usageError.js";
import { addStackOptions, engine, type StackFlags } from "./stacks.js";
import { loadKubeconfig, namespacedName } from "../kubernetesFlags.js";
import type { StackStore } from "../../apply/stackStore.js";

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 59)
    throw new InvalidArgumentError("expected whole seconds from 1 to 59");
  return n;
}

/** A `<namespace>/<name>` flag value, parsed where it enters. */
/** The repository's URL, refused when it carries credentials: those come from the environment only. */
function gitRepoUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--git-repo ${value}: expected an http:// or https:// URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new UsageError(
      `--git-repo: ${url.protocol} is not supported: the scaler speaks Git over HTTP(S) only (no SSH); use the repository's HTTPS URL and a token`,
    );
  if (url.username || url.password)
    throw new UsageError(
      "--git-repo: the URL carries credentials; put the token in VPSIE_AUTOSCALER_GIT_TOKEN (from the Secret) and pass the URL without it",
    );
  return url.toString();
}

function gitCredentials(env: NodeJS.ProcessEnv): { username: string; token: string } | undefined {
  const token = env.VPSIE_AUTOSCALER_GIT_TOKEN;
  return token ? { username: env.VPSIE_AUTOSCALER_GIT_USERNAME || "git", token } : undefined;
}

export function runCommand(): Command {
  return addStackOptions(
    new Command("run")
      .description(
        "run the scaler: watch the cluster, plan every SCAN seconds and soon after pods turn unschedulable, and apply each scale action as a Pulumi update",
      )
      .option(
        "--kubeconfig <file>",
        "kubeconfig to use (default: in-cluster config, else $KUBECONFIG or ~/.kube/config)",
      )
      .option("--scan-interval <seconds>", "how often the loop plans", seconds, 10)
      .option("--lease-namespace <ns>", "namespace of the leader-election Lease", "kube-system")
      .option("--lease-name <name>", "name of the leader-election Lease", "vpsie-autoscaler")
      .option(
        "--lease-duration <seconds>",
        "how long a lease lasts without renewal (renew deadline 2/3 of it)",
        seconds,
        15,
      )
      .option("--metrics-address <host:port>", "where /healthz, /readyz and /metrics listen", "0.0.0.0:8085")
      .option(
        "--stack-configmap <namespace/name>",
        "keep the stack config files in this ConfigMap (one key Pulumi.<group>.yaml per node group): read every loop, written before every scale action; for a scaler whose disk does not outlive it",
      )
      .option(
        "--git-repo <url>",
        "keep the stack config files in this Git repository (HTTPS; token from VPSIE_AUTOSCALER_GIT_TOKEN): pulled every loop, every scale action a commit pushed before its update",
      )
      .option("--git-branch <branch>", "the branch of --git-repo (default main)")
      .option(
        "--git-path <folder>",
        "the folder of --git-repo that holds Pulumi.<group>.yaml (default stacks/)",
      )
      .option(
        "--intent-configmap <namespace/name>",
        "keep update intents in this ConfigMap instead of WORK_DIR: the replica that takes over recovers an update the one that died left unfinished",
      )
      .addOption(
        new Option(
          "--mode <mode>",
          "live: apply scale actions (those the run config's approvals name once approved); shadow: plan, preview and record every action, apply none",
        )
          .choices(["live", "shadow"])
          .default("live"),
      )
      .option(
        "--review-configmap <namespace/name>",
        "keep shadow decisions and pending approvals in this ConfigMap (default: WORK_DIR/reviews)",
      )
      .option(
        "--console-address <host:port>",
        "also serve the audit console here (off by default; off loopback VPSIE_AUTOSCALER_CONSOLE_TOKEN is required)",
      )
      .option(
        "--config <file>",
        "YAML configuration: the flags' settings and the planner's (flags given here win)",
      )
      .addOption(
        new Option("--log-level <level>", "the least severe log lines written")
          .choices([...LOG_LEVELS])
          .default("info"),
      )
      .addHelpText(
        "after",
        helpText({
          examples: [
            "vpsie-autoscaler run --kubeconfig ~/.kube/config --project-dir . --scan-interval 10",
            "vpsie-autoscaler run --config /etc/vpsie-autoscaler/config.yaml --log-level debug",
            "vpsie-autoscaler run --stack-configmap kube-system/vpsie-autoscaler-stacks --intent-configmap kube-system/vpsie-autoscaler-intents",
            "VPSIE_AUTOSCALER_GIT_TOKEN=… vpsie-autoscaler run --git-repo https://git.example.com/platform/cluster.git --git-path clusters/prod/node-groups",
            "vpsie-autoscaler run --mode shadow --console-address 127.0.0.1:8086",
          ],
          environment: [
            "VPSIE_API_URL, VPSIE_TOKEN or VPSIE_CLIENT_ID and VPSIE_CLIENT_SECRET, VPSIE_API_RATE_LIMIT (requests a minute)",
            "PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE, VPSIE_AUTOSCALER_WORK_DIR",
            "KUBECONFIG, or the in-cluster service account",
            "VPSIE_AUTOSCALER_GIT_USERNAME (default git) and VPSIE_AUTOSCALER_GIT_TOKEN, for --git-repo",
            "VPSIE_AUTOSCALER_CONSOLE_TOKEN, for --console-address off loopback",
          ],
          exitCodes: [
            "0 stopped by SIGTERM or SIGINT after the actions under way finished",
            "1 failure",
            "2 bad flags or configuration (nothing was done)",
          ],
        }),
      ),
  ).action(
    async (
      flags: StackFlags & {
        kubeconfig?: string;
        scanInterval: number;
        leaseNamespace: string;
        leaseName: string;
        leaseDuration: number;
        metricsAddress: string;
        stackConfigmap?: string;
        intentConfigmap?: string;
        gitRepo?: string;
        gitBranch?: string;
        gitPath?: string;
        mode: "live" | "shadow";
        reviewConfigmap?: string;
        consoleAddress?: string;
        config?: string;
        logLevel: LogLevel;
      },
      command: Command,
    ) => {
      const { loadRunConfig, plannerOptions, RunConfigError } = await import("../../config/runConfig.js");
      let file: Awaited<ReturnType<typeof loadRunConfig>> = {};
      if (flags.config) {
        try {
          file = await loadRunConfig(flags.config);
        } catch (err) {
          if (err instanceof RunConfigError) throw new UsageError(err.message);
          throw err;
        }
      }
      // A flag given on the command line wins; else the file; else the flag's default.
      const pick = <T>(name: string, value: T, fromFile: T | undefined): T =>
        command.getOptionValueSource(name) === "cli" || fromFile === undefined ? value : fromFile;
      const opts = {
        ...flags,
        kubeconfig: pick("kubeconfig", flags.kubeconfig, file.kubeconfig),
        projectDir: pick("projectDir", flags.projectDir, file.projectDir),
        workDir: pick("workDir", flags.workDir, file.workDir),
        backend: pick("backend", flags.backend, file.backend),
        scanInterval: pick("scanInterval", flags.scanInterval, file.scanInterval),
        leaseNamespace: pick("leaseNamespace", flags.leaseNamespace, file.lease?.namespace),
        leaseName: pick("leaseName", flags.leaseName, file.lease?.name),
        leaseDuration: pick("leaseDuration", flags.leaseDuration, file.lease?.durationSeconds),
        metricsAddress: pick("metricsAddress", flags.metricsAddress, file.metricsAddress),
        stackConfigMap: pick("stackConfigmap", flags.stackConfigmap, file.stackConfigMap),
        intentConfigMap: pick("intentConfigmap", flags.intentConfigmap, file.intentConfigMap),
        logLevel: pick("logLevel", flags.logLevel, file.logLevel),
        mode: pick("mode", flags.mode, file.mode),
        reviewConfigMap: pick("reviewConfigmap", flags.reviewConfigmap, file.reviewConfigMap),
        consoleAddress: pick("consoleAddress", flags.consoleAddress, file.consoleAddress),
      };
      if (opts.consoleAddress)
        await (await import("../consoleServing.js")).checkConsole(opts.consoleAddress, process.env);
      const gitRepo = pick("gitRepo", flags.gitRepo, file.git?.repo);
      const gitStore = gitRepo
        ? {
            url: gitRepoUrl(gitRepo),
            branch: pick("gitBranch", flags.gitBranch, file.git?.branch) ?? "main",
            path: pick("gitPath", flags.gitPath, file.git?.path) ?? "stacks",
            author: {
              name: file.git?.author?.name ?? "vpsie-autoscaler",
              email: file.git?.author?.email ?? "vpsie-autoscaler@localhost",
            },
          }
        : undefined;
      if (gitStore && opts.stackConfigMap)
        throw new UsageError(
          "--git-repo and --stack-configmap both say where the stack config files are: keep one",
        );
      const stackConfigMap = namespacedName(
        "--stack-configmap",
        opts.stackConfigMap,
        "vpsie-autoscaler-stacks",
      );
      const intentConfigMap = namespacedName(
        "--intent-configmap",
        opts.intentConfigMap,
        "vpsie-autoscaler-intents",
      );
      const reviewConfigMap = namespacedName(
        "--review-configmap",
        opts.reviewConfigMap,
        "vpsie-autoscaler-reviews",
      );
      const { VpsieClient } = await import("../../../provider/vpsie/client.js");
      const { Applier } = await import("../../apply/applier.js");
      const { Scaler } = await import("../../controller/compose.js");
      const { createLogger, logTo } = await import("../../log/logger.js");
      const { LeaderElector } = await import("../../kubernetes/leaderElection.js");
      const { StackConfigMap } = await import("../../kubernetes/stackConfigMap.js");
      const { StackStoreError } = await import("../../apply/stackStore.js");
      const { configMapIntents } = await import("../../kubernetes/intentConfigMap.js");
      const { ScalerMetrics } = await import("../../observability/metrics.js");
      const { buildInfo } = await import("../buildInfo.js");
      const { startObservabilityServer } = await import("../../observability/server.js");
      const metrics = new ScalerMetrics(buildInfo());
      const kubeconfig = await loadKubeconfig(opts.kubeconfig);
      const logger = createLogger("vpsie-autoscaler", opts.logLevel);
      const log = logTo(logger);
      const client = VpsieClient.fromEnv(process.env, {
        onAttempt: (a) => {
          metrics.vpsieRequests.inc({
            operation: a.operation.replace(/\/[0-9a-f-]{8,}|\/\d+/g, "/:id"),
            result: a.result,
          });
          log("debug", `VPSie ${a.operation}: ${a.result}`, { status: a.status, durationMs: a.durationMs });
        },
      });
      const settings = await engine(opts);
      if (settings.preparedProjectDir) log("info", `prepared the project directory ${settings.projectDir}`);
      let stacks: StackStore | undefined;
      if (stackConfigMap)
        stacks = new StackConfigMap(
          kubeconfig,
          stackConfigMap.namespace,
          stackConfigMap.name,
          settings.projectDir,
        );
      if (gitStore) {
        const { GitStackStore } = await import("../../git/gitStackStore.js");
        stacks = new GitStackStore({
          ...gitStore,
          cloneDir: join(resolve(opts.workDir), "git"),
          projectDir: settings.projectDir,
          credentials: gitCredentials(process.env),
        });
      }
      if (stacks) {
        try {
          await stacks.pull();
        } catch (err) {
          if (!(err instanceof StackStoreError)) throw err;
          if (err.permanent) throw new UsageError(err.message);
          // The API server or the Git host did not answer (a restart, a network blip): every loop pulls
          // again and plans nothing until one succeeds, as a controller waits for its caches.
          log("warn", `stack config not read yet, trying again every loop: ${err.message}`);
        }
        log("info", `stack config comes from ${stacks.description}`);
      }
      const applier = new Applier({
        ...settings,
        client,
        metrics,
        progress: (m, fields) => log("info", m, fields),
        claimTimings:
          file.scaleUp?.lostAnswerWait === undefined
            ? undefined
            : { unknownOutcomeTimeoutMs: file.scaleUp.lostAnswerWait },
        publishStackConfig: stacks && ((stack, after, message) => stacks.publish(stack, after, message)),
        linkUpdate:
          stacks?.linkUpdate && ((stack, link) => stacks.linkUpdate?.(stack, link) ?? Promise.resolve()),
        intents:
          intentConfigMap && configMapIntents(kubeconfig, intentConfigMap.namespace, intentConfigMap.name),
      });
      const { configMapReviews } = await import("../../kubernetes/reviewConfigMap.js");
      const { directoryReviews } = await import("../../review/store.js");
      const reviews = reviewConfigMap
        ? configMapReviews(kubeconfig, reviewConfigMap.namespace, reviewConfigMap.name)
        : directoryReviews(join(resolve(opts.workDir), "reviews"));
      const { ReviewGate } = await import("../../review/gate.js");
      const { systemClock } = await import("../../controller/ports.js");
      const review =
        opts.mode === "shadow" || file.approvals
          ? new ReviewGate({
              mode: opts.mode,
              policy: file.approvals,
              store: reviews,
              preview: (request, savePlan) => applier.preview(request, savePlan),
              clock: systemClock,
              log,
            })
          : undefined;
      if (opts.mode === "shadow")
        log(
          "warn",
          `shadow mode: every action is planned, previewed and recorded in ${reviews.description}; none is applied`,
        );
      const scaler = new Scaler({
        review,
        metrics,
        kubeconfig,
        apply: applier,
        client,
        projectDir: settings.projectDir,
        scanIntervalSeconds: opts.scanInterval,
        planner: plannerOptions(file),
        // Its own namespace, the Lease's, where its Role lets it write.
        status: { namespace: opts.leaseNamespace, name: "vpsie-autoscaler-status" },
        syncStackConfig: stacks && ((busy) => stacks.pull(busy)),
        log,
      });
      scaler.acting = false;
      await scaler.start();
      const elector = new LeaderElector({
        kubeconfig,
        namespace: opts.leaseNamespace,
        name: opts.leaseName,
        leaseDurationMs: opts.leaseDuration * 1000,
        renewDeadlineMs: Math.round((opts.leaseDuration * 2000) / 3),
        identity: `${hostname()}_${randomUUID().slice(0, 8)}`,
        onStartedLeading: () => {
          metrics.leader.set(1);
          scaler.acting = true;
        },
        onStoppedLeading: () => {
          metrics.leader.set(0);
          scaler.acting = false;
        },
        log: (m) => log("info", m),
      });
      elector.start();
      const { server, url } = await startObservabilityServer(opts.metricsAddress, metrics, scaler.health());
      log("info", `serving /healthz, /readyz and /metrics on ${url}`);
      let consoleServer: { close(): void } | undefined;
      if (opts.consoleAddress) {
        const { serveConsole } = await import("../consoleServing.js");
        const served = await serveConsole({
          address: opts.consoleAddress,
          settings,
          reviews,
          // Served from a pod and reached through a port-forward: whoever decides types their name.
          user: "",
          fromEnv: process.env,
          client,
          log,
          backoff: () =>
            Object.fromEntries(
              Object.entries(scaler.lastPlan?.timers.backoff ?? {})
                .filter(([, b]) => b.until > Date.now())
                .map(([group, b]) => [group, `until ${new Date(b.until).toISOString()}: ${b.reason}`]),
            ),
        });
        consoleServer = served.server;
        log("info", `serving the audit console on ${served.url}`);
      }
      log(
        "info",
        `running: planning every ${opts.scanInterval}s against ${kubeconfig.getCurrentCluster()?.server} while leading`,
      );
      await new Promise<void>((resolve) => {
        process.once("SIGTERM", resolve);
        process.once("SIGINT", resolve);
      });
      log("info", "stopping: letting scale actions under way finish");
      scaler.acting = false;
      await scaler.stop();
      await elector.stop();
      server.close();
      consoleServer?.close();
      log("info", "stopped");
    },
  );
}
