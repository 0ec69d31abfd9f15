/**
 * A Pulumi language host for Node.js programs, speaking the engine's LanguageRuntime gRPC protocol.
 *
 * The Go module proxy these machines reach does not serve
 * `github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3` (it answers 403 for every
 * version), so the upstream host cannot be built here. This host does the part the engine needs to run
 * a compiled JavaScript program: it starts `@pulumi/pulumi/cmd/run` from the program's own
 * `node_modules` with the engine's arguments, exactly as the upstream host does. It does not compile
 * TypeScript, install dependencies or generate code: the project's programs are built by `npm ci`.
 *
 * Protocol: the engine starts this process in the project directory with the engine address as the
 * last argument, reads the port from the first line of stdout, and stops the process when done with it.
 *
 * `npm run tools` installs the compiled file next to the `pulumi` binary it built, where the engine
 * looks for bundled plugins. So that one copy serves every checkout, it loads gRPC and Pulumi's
 * protocol definitions from the project it serves, never from beside itself.
 */
import { spawn } from "node:child_process";
import { realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type * as grpcTypes from "@grpc/grpc-js";
import type * as languageGrpcTypes from "@pulumi/pulumi/proto/language_grpc_pb.js";
import type * as languagePbTypes from "@pulumi/pulumi/proto/language_pb.js";
import type * as pluginPbTypes from "@pulumi/pulumi/proto/plugin_pb.js";

const fromProject = createRequire(`${process.cwd()}/`);
const grpc = fromProject("@grpc/grpc-js") as typeof grpcTypes;
const languageGrpc = fromProject("@pulumi/pulumi/proto/language_grpc_pb.js") as typeof languageGrpcTypes;
const languagePb = fromProject("@pulumi/pulumi/proto/language_pb.js") as typeof languagePbTypes;
const pluginPb = fromProject("@pulumi/pulumi/proto/plugin_pb.js") as typeof pluginPbTypes;
const sdkVersion = (fromProject("@pulumi/pulumi/package.json") as { version: string }).version;

/** The SDK's run script exits with this code after it has already shown the user an actionable message. */
const EXIT_AFTER_USER_ACTIONABLE_MESSAGE = 32;

type Unary<Req, Res> = grpcTypes.handleUnaryCall<Req, Res>;

interface HostState {
  engineAddress: string;
}

/** Arguments for `@pulumi/pulumi/cmd/run`, in the order the upstream host passes them. */
export function runArguments(
  req: languagePbTypes.RunRequest,
  runPath: string,
  engineAddress: string,
): string[] {
  const info = req.getInfo();
  const args = [runPath];
  const add = (flag: string, value: string | undefined) => {
    if (value) args.push(`--${flag}`, value);
  };
  add("monitor", req.getMonitorAddress());
  add("engine", engineAddress);
  add("organization", req.getOrganization());
  add("project", req.getProject());
  add("root-directory", info?.getRootDirectory());
  add("stack", req.getStack());
  add("pwd", info?.getProgramDirectory() || req.getPwd());
  if (req.getDryrun()) args.push("--dry-run");
  add("parallel", String(req.getParallel()));
  args.push(info?.getEntryPoint() || req.getProgram() || ".");
  args.push(...req.getArgsList());
  return args;
}

function configEnvironment(req: languagePbTypes.RunRequest): Record<string, string> {
  const config: Record<string, string> = {};
  for (const [key, value] of req.getConfigMap().entries()) config[key] = value;
  return {
    PULUMI_CONFIG: JSON.stringify(config),
    PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(req.getConfigsecretkeysList()),
  };
}

function runProgram(req: languagePbTypes.RunRequest, state: HostState): Promise<languagePbTypes.RunResponse> {
  const programDirectory = req.getInfo()?.getProgramDirectory() || req.getPwd() || process.cwd();
  const response = new languagePb.RunResponse();
  let runPath: string;
  try {
    runPath = createRequire(`${programDirectory}/`).resolve("@pulumi/pulumi/cmd/run");
  } catch {
    response.setError(
      `@pulumi/pulumi is not installed for the program in ${programDirectory}: run \`npm ci\` there first`,
    );
    return Promise.resolve(response);
  }
  const child = spawn(process.execPath, runArguments(req, runPath, state.engineAddress), {
    cwd: programDirectory,
    env: { ...process.env, ...configEnvironment(req) },
    stdio: ["ignore", "inherit", "inherit"],
  });
  return new Promise((resolve) => {
    child.on("error", (err) => {
      response.setError(`could not start the Node.js program: ${err.message}`);
      resolve(response);
    });
    child.on("exit", (code, signal) => {
      if (code === EXIT_AFTER_USER_ACTIONABLE_MESSAGE) response.setBail(true);
      else if (code !== 0) {
        response.setError(
          signal ? `Program was stopped by ${signal}` : `Program exited with non-zero exit code: ${code}`,
        );
      }
      resolve(response);
    });
  });
}

function service(state: HostState): grpcTypes.UntypedServiceImplementation {
  const handshake: Unary<
    languagePbTypes.LanguageHandshakeRequest,
    languagePbTypes.LanguageHandshakeResponse
  > = (call, done) => {
    state.engineAddress = call.request.getEngineAddress() || state.engineAddress;
    done(null, new languagePb.LanguageHandshakeResponse());
  };
  const pluginInfo: Unary<unknown, pluginPbTypes.PluginInfo> = (_call, done) => {
    const info = new pluginPb.PluginInfo();
    info.setVersion(sdkVersion);
    done(null, info);
  };
  // Plugins are never acquired automatically here (there is no network); the dynamic provider and
  // the language host are found on PATH. So the program needs no plugin beyond what is already there.
  const requiredPlugins: Unary<unknown, languagePbTypes.GetRequiredPluginsResponse> = (_call, done) =>
    done(null, new languagePb.GetRequiredPluginsResponse());
  const requiredPackages: Unary<unknown, languagePbTypes.GetRequiredPackagesResponse> = (_call, done) =>
    done(null, new languagePb.GetRequiredPackagesResponse());
  const run: Unary<languagePbTypes.RunRequest, languagePbTypes.RunResponse> = (call, done) => {
    void runProgram(call.request, state).then((response) => done(null, response));
  };
  const installDependencies: grpcTypes.handleServerStreamingCall<
    languagePbTypes.InstallDependenciesRequest,
    languagePbTypes.InstallDependenciesResponse
  > = (call) => {
    const message = new languagePb.InstallDependenciesResponse();
    message.setStdout(Buffer.from("Dependencies are installed by `npm ci` in this project.\n"));
    call.write(message);
    call.end();
  };
  const about: Unary<unknown, languagePbTypes.AboutResponse> = (_call, done) => {
    const response = new languagePb.AboutResponse();
    response.setExecutable(process.execPath);
    response.setVersion(process.version);
    done(null, response);
  };
  const programDependencies: Unary<unknown, languagePbTypes.GetProgramDependenciesResponse> = (_call, done) =>
    done(null, new languagePb.GetProgramDependenciesResponse());
  const runtimeOptions: Unary<unknown, languagePbTypes.RuntimeOptionsResponse> = (_call, done) =>
    done(null, new languagePb.RuntimeOptionsResponse());

  return {
    handshake,
    getPluginInfo: pluginInfo,
    getRequiredPlugins: requiredPlugins,
    getRequiredPackages: requiredPackages,
    run,
    installDependencies,
    about,
    getProgramDependencies: programDependencies,
    runtimeOptionsPrompts: runtimeOptions,
  };
}

/** Starts the host, prints its port for the engine, and serves until the engine stops the process. */
async function serveLanguageHost(argv: readonly string[]): Promise<void> {
  const positional = argv.filter((arg) => !arg.startsWith("-"));
  const state: HostState = { engineAddress: positional.at(-1) ?? "" };
  const server = new grpc.Server({ "grpc.max_receive_message_length": 400 * 1024 * 1024 });
  server.addService(languageGrpc.LanguageRuntimeService, service(state));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
  process.stdout.write(`${port}\n`);
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await serveLanguageHost(process.argv.slice(2));
}
