/**
 * One Pulumi update, run the lean way a scale action needs: a single `pulumi up` of the stack, with the
 * program run inline in this process (the SDK's language server), the VPSie providers hosted in this
 * process (the engine attaches to them), and the engine's event log read for what changed. The
 * Automation API's `stack.up()` would add three more CLI runs that each read the whole state (outputs
 * twice and the last history entry): about a second at 1,000 nodes, for facts the event log has.
 *
 * CLI failures are classified once, here: a stack another update holds (the lock message of DIY
 * backends, the service's 409) is a StackBusyError; the rest are PulumiCommandError with the output.
 */
import { spawn } from "node:child_process";
import { mkdtemp, open, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import type { PulumiFn } from "@pulumi/pulumi/automation/index.js";
import { z } from "zod";
import { type EngineOptions, engineEnv } from "./workspace.js";

const fromSdk = createRequire(createRequire(import.meta.url).resolve("@pulumi/pulumi/package.json"));
// The SDK's own inline-program server (what `stack.up()` starts for an inline program): not part of
// its typed API, so its shape is checked here, once, against the pinned SDK.
const { LanguageServer } = fromSdk("./automation/server.js") as {
  LanguageServer: new (program: PulumiFn) => grpc.UntypedServiceImplementation & {
    onPulumiExit(hasError: boolean): void;
  };
};
const { LanguageRuntimeService } = fromSdk("./proto/language_grpc_pb.js") as {
  LanguageRuntimeService: grpc.ServiceDefinition;
};
if (typeof LanguageServer !== "function")
  throw new Error("@pulumi/pulumi no longer has automation/server.js's LanguageServer: pin the SDK");

/**
 * Resource operations the engine runs at once. Its default (4 per CPU) would send a burst's creates
 * ten at a time; they wait on VPSie, not on this machine, and the VPSie client's rate limit paces what
 * reaches the API. Each one under way holds two gRPC calls in this process, so memory bounds it.
 */
const PARALLEL = { min: 32, max: 128 };

/** The output of a failed `pulumi` run, for messages and classification. */
export class PulumiCommandError extends Error {
  override name = "PulumiCommandError";
  constructor(
    message: string,
    readonly stdout: string,
    readonly stderr: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** Another update holds the stack (a person's `pulumi up`, another scaler, a crashed one's lock). */
export class StackBusyError extends PulumiCommandError {
  override name = "StackBusyError";
}

/** The stack does not exist in the backend yet. */
export class StackMissingError extends PulumiCommandError {
  override name = "StackMissingError";
}

/** A targeted update met a resource it needs that is neither targeted nor in the state. */
export class TargetsIncompleteError extends PulumiCommandError {
  override name = "TargetsIncompleteError";
}

/** Whether an error from this module or from the Automation API says the stack is locked by someone else. */
export function isStackBusy(err: unknown): boolean {
  return err instanceof StackBusyError || (err as Error | undefined)?.name === "ConcurrentUpdateError";
}

const LOCKED = /the stack is currently locked by|\[409\] Conflict: Another update is currently in progress/;

/** What the engine reported of one step: what it did to which resource, and the outputs after it. */
export interface StepRecord {
  op: string;
  urn: string;
  type: string;
  outputs?: Record<string, unknown>;
  failed?: boolean;
}

export interface UpdateOutcome {
  /** Steps with a change (not `same`), in the order the engine reported them. */
  steps: StepRecord[];
  /** How many resources each operation touched, as `pulumi up` counts them. */
  resourceChanges: Record<string, number>;
  startTime: Date;
  endTime: Date;
  /** The steps as people read a diff (`+ type: (create)` and the resource's URN). */
  diff: string;
}

const StepMetadata = z.looseObject({
  op: z.string(),
  urn: z.string(),
  type: z.string(),
  new: z.looseObject({ outputs: z.record(z.string(), z.unknown()).optional() }).nullish(),
});
const EngineEvent = z.looseObject({
  resOutputsEvent: z.looseObject({ metadata: StepMetadata }).optional(),
  resOpFailedEvent: z.looseObject({ metadata: StepMetadata }).optional(),
  resourcePreEvent: z.looseObject({ metadata: StepMetadata }).optional(),
  summaryEvent: z.looseObject({ resourceChanges: z.record(z.string(), z.number()).nullish() }).optional(),
});
export type EngineEvent = z.output<typeof EngineEvent>;

const SYMBOLS: Record<string, string> = {
  create: "+",
  delete: "-",
  update: "~",
  replace: "+-",
  "create-replacement": "++",
  "delete-replaced": "--",
  read: ">",
  import: "=",
  refresh: "~",
};

function renderDiff(steps: StepRecord[]): string {
  return steps
    .map(
      (s) =>
        `${SYMBOLS[s.op] ?? "*"} ${s.type}: (${s.op}${s.failed ? ", failed" : ""})\n    [urn=${s.urn}]\n`,
    )
    .join("");
}

/** Reads the JSON lines the engine appends to its event log, as they come. */
async function tailEvents(path: string, onEvent: (event: EngineEvent) => void) {
  let offset = 0;
  let rest = "";
  const read = async () => {
    const file = await open(path, "r").catch(() => undefined);
    if (!file) return;
    try {
      for (;;) {
        const buffer = Buffer.alloc(256 * 1024);
        const { bytesRead } = await file.read(buffer, 0, buffer.length, offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
        const lines = (rest + buffer.subarray(0, bytesRead).toString("utf8")).split("\n");
        rest = lines.pop() ?? "";
        for (const line of lines) {
          if (!line.trim()) continue;
          let json: unknown;
          try {
            json = JSON.parse(line);
          } catch {
            continue;
          }
          const parsed = EngineEvent.safeParse(json);
          if (parsed.success) onEvent(parsed.data);
        }
      }
    } finally {
      await file.close();
    }
  };
  let reading = Promise.resolve();
  const timer = setInterval(() => {
    reading = reading.then(read);
  }, 250);
  return async () => {
    clearInterval(timer);
    await reading;
    await read();
  };
}

export interface UpdateRequest {
  projectDir: string;
  stack: string;
  message: string;
  /** URNs to update; the engine keeps every other resource as it is (and declares none it finds missing). */
  targets: string[];
  program: PulumiFn;
  /** Extra environment for the CLI (the hosted provider's attach port). */
  env: Record<string, string>;
  onEvent?: (event: EngineEvent) => void;
  /** Lines the CLI prints, for progress. */
  onOutput?: (line: string) => void;
  /**
   * An update plan a preview saved (`pulumi up --plan`): the engine refuses any operation beyond it, so
   * what runs is what was reviewed.
   */
  plan?: string;
}

export interface PreviewRequest extends Omit<UpdateRequest, "plan"> {
  /** Where to save the preview as an update plan (`pulumi preview --save-plan`). */
  savePlan?: string;
}

/** Runs one targeted `pulumi up` with an inline program; resolves with what changed, or throws classified. */
export function runUpdate(engine: EngineOptions, request: UpdateRequest): Promise<UpdateOutcome> {
  return runEngine(engine, request, "up");
}

/** Runs one targeted `pulumi preview` with an inline program: the steps an update would run, nothing changed. */
export function runPreview(engine: EngineOptions, request: PreviewRequest): Promise<UpdateOutcome> {
  return runEngine(engine, request, "preview");
}

async function runEngine(
  engine: EngineOptions,
  request: UpdateRequest & PreviewRequest,
  command: "up" | "preview",
): Promise<UpdateOutcome> {
  const server = new grpc.Server({ "grpc.max_receive_message_length": 400 * 1024 * 1024 });
  const language = new LanguageServer(request.program);
  server.addService(LanguageRuntimeService, language);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
  const dir = await mkdtemp(join(tmpdir(), "vpsie-autoscaler-update-"));
  const eventLog = join(dir, "events.jsonl");
  const steps: StepRecord[] = [];
  let resourceChanges: Record<string, number> = {};
  const stopTail = await tailEvents(eventLog, (event) => {
    const done =
      command === "preview" ? event.resourcePreEvent : (event.resOutputsEvent ?? event.resOpFailedEvent);
    if (done && done.metadata.op !== "same") {
      steps.push({
        op: done.metadata.op,
        urn: done.metadata.urn,
        type: done.metadata.type,
        outputs: done.metadata.new?.outputs,
        failed: event.resOpFailedEvent !== undefined,
      });
    }
    if (event.summaryEvent) resourceChanges = event.summaryEvent.resourceChanges ?? {};
    request.onEvent?.(event);
  });
  const args = [
    command,
    ...(command === "up" ? ["--yes", "--skip-preview"] : []),
    ...(command === "preview" && request.savePlan ? ["--save-plan", request.savePlan] : []),
    ...(request.plan ? ["--plan", request.plan] : []),
    "--message",
    request.message,
    ...request.targets.flatMap((urn) => ["--target", urn]),
    "--parallel",
    String(Math.min(PARALLEL.max, Math.max(PARALLEL.min, request.targets.length))),
    `--client=127.0.0.1:${port}`,
    "--exec-kind",
    "auto.inline",
    "--event-log",
    eventLog,
    "--stack",
    request.stack,
    "--non-interactive",
  ];
  const startTime = new Date();
  let failed = true;
  try {
    const { code, stdout, stderr } = await run(engine, args, request);
    failed = code !== 0;
    await stopTail();
    if (failed) {
      const text = `${stderr}\n${stdout}`;
      const why =
        text
          .match(/error: .*/g)
          ?.slice(-3)
          .join("; ") ?? `exit code ${code}`;
      const message = `pulumi ${command} of stack ${request.stack} failed: ${why}`;
      if (LOCKED.test(text)) throw new StackBusyError(message, stdout, stderr, code);
      if (/no stack named .* found/.test(text)) throw new StackMissingError(message, stdout, stderr, code);
      if (/not specified in --target list|is not targeted/.test(text))
        throw new TargetsIncompleteError(message, stdout, stderr, code);
      throw new PulumiCommandError(message, stdout, stderr, code);
    }
    return { steps, resourceChanges, startTime, endTime: new Date(), diff: renderDiff(steps) };
  } finally {
    await stopTail();
    language.onPulumiExit(failed);
    server.forceShutdown();
    await rm(dir, { recursive: true, force: true });
  }
}

function run(
  engine: EngineOptions,
  args: string[],
  request: Pick<UpdateRequest, "projectDir" | "env" | "onOutput">,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(engine.tools.pulumi, args, {
      cwd: request.projectDir,
      // The event log is one of the CLI's debug flags, as for the Automation API.
      env: {
        ...engineEnv(engine),
        ...request.env,
        PULUMI_DEBUG_COMMANDS: "true",
        // `up --plan` is still behind the CLI's experimental switch (`preview --save-plan` is not).
        ...(args.includes("--plan") && { PULUMI_EXPERIMENTAL: "true" }),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out: string[] = [];
    const err: string[] = [];
    let partial = "";
    child.stdout.on("data", (chunk: Buffer) => {
      const text = chunk.toString();
      out.push(text);
      if (request.onOutput) {
        const lines = (partial + text).split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) if (line.trim()) request.onOutput(line);
      }
    });
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout: out.join(""), stderr: err.join("") }));
  });
}
