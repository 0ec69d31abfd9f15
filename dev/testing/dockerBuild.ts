/**
 * The Dockerfile's build, run on this machine without a container engine (there is none here): each
 * stage gets a directory that stands for its root filesystem; COPY takes from the build context as
 * .dockerignore filters it, or from an earlier stage's directory; RUN goes to `sh -c` in the stage's
 * working directory with its ARG and ENV values, the paths the Dockerfile owns (/src, /out, /app, and
 * the runtime's volume under /var) rewritten into the stage's directory. The base images stand for this machine's tools of the same
 * versions: Node.js 24 (the one running the tests), Go, npm.
 */
import { execFile } from "node:child_process";
import { cp, mkdir, readdir, readFile, stat } from "node:fs/promises";
import { dirname, isAbsolute, join, relative } from "node:path";
import { promisify } from "node:util";
import dockerignoreModule from "@balena/dockerignore";
import { Arg, Copy, DockerfileParser, Env, type From, type Instruction } from "dockerfile-ast";
import { repoRoot } from "../../scaler/tools/paths.js";

const run = promisify(execFile);
// Its types declare an ES default export; loaded from ESM, the CommonJS module.exports is the function.
const dockerignore = dockerignoreModule as unknown as typeof dockerignoreModule.default;

export interface BuildOptions {
  /** Build arguments, as `--build-arg` gives them (TARGETARCH and TARGETOS included). */
  args: Record<string, string>;
  /** Where the stages' directories go. */
  dir: string;
  /** Stop after this stage (default: build them all). */
  target?: string;
  progress?: (message: string) => void;
}

export interface BuiltImage {
  /** Each stage's root directory, by name (the last, unnamed stage is "runtime"). */
  roots: Record<string, string>;
  /** The last stage's environment (ENV), with its paths rewritten into its root. */
  env: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
}

export interface DockerfileStage {
  /** Its `AS` name; the last, unnamed stage is "runtime". */
  name: string;
  from: From;
  /** Its instructions after FROM. */
  instructions: Instruction[];
}

/** A Dockerfile split into the instructions before the first FROM (global ARGs) and its stages. */
export function dockerfileStages(text: string): { initial: Instruction[]; stages: DockerfileStage[] } {
  const dockerfile = DockerfileParser.parse(text);
  const all = dockerfile.getInstructions();
  const froms = dockerfile.getFROMs();
  const stages = froms.map((from, i) => {
    const start = from.getRange().start.line;
    const end = froms[i + 1]?.getRange().start.line ?? Number.POSITIVE_INFINITY;
    return {
      name: from.getBuildStage() ?? "runtime",
      from,
      instructions: all.filter((ins) => ins.getRange().start.line > start && ins.getRange().start.line < end),
    };
  });
  const first = froms[0]?.getRange().start.line ?? 0;
  return { initial: all.filter((ins) => ins.getRange().start.line < first), stages };
}

async function filesUnder(path: string): Promise<string[]> {
  if (!(await stat(path)).isDirectory()) return [path];
  const entries = await readdir(path, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() || e.isSymbolicLink()).map((e) => join(e.parentPath, e.name));
}

/** The machine's network, trust and Go cache settings, which a builder would have as its own. */
const MACHINE_SETTINGS =
  /^(https?_proxy|no_proxy|all_proxy|NODE_EXTRA_CA_CERTS|SSL_CERT_FILE|SSL_CERT_DIR|GOPROXY|GOSUMDB|GONOSUMDB|GOPRIVATE|GOINSECURE|GOPATH|GOMODCACHE|GOCACHE)$/i;

function machineSettings(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] => MACHINE_SETTINGS.test(e[0]) && e[1] !== undefined,
    ),
  );
}

export async function buildWithoutEngine(options: BuildOptions): Promise<BuiltImage> {
  const text = await readFile(join(repoRoot, "Dockerfile"), "utf8");
  const ignored = dockerignore().add((await readFile(join(repoRoot, ".dockerignore"), "utf8")).split("\n"));
  const { initial, stages } = dockerfileStages(text);
  const globalArgs: Record<string, string> = {};
  for (const arg of initial.filter((i): i is Arg => i instanceof Arg)) {
    const property = arg.getProperty();
    if (property)
      globalArgs[property.getName()] = options.args[property.getName()] ?? property.getValue() ?? "";
  }
  // The absolute directories the Dockerfile itself creates: its working directories and stage outputs.
  const owned = new Set<string>(["src", "out", "app", "var"]);
  const roots: Record<string, string> = {};
  let image: BuiltImage | undefined;

  for (const stage of stages) {
    const root = join(options.dir, stage.name);
    roots[stage.name] = root;
    const inRoot = (path: string) => join(root, path);
    const rewrite = (command: string) =>
      command.replace(/(^|[\s="'])\/([a-z]+)(?=\/|\s|$)/g, (whole, before: string, top: string) =>
        owned.has(top) ? `${before}${root}/${top}` : whole,
      );
    let workdir = "/";
    const env: Record<string, string> = {};
    const args: Record<string, string> = {
      TARGETOS: "linux",
      BUILDPLATFORM: "linux/amd64",
      TARGETPLATFORM: `linux/${options.args.TARGETARCH ?? "amd64"}`,
    };
    await mkdir(root, { recursive: true });
    options.progress?.(`stage ${stage.name}`);
    for (const instruction of stage.instructions) {
      const keyword = instruction.getKeyword();
      const content = instruction.getArgumentsContent() ?? "";
      if (instruction instanceof Arg) {
        const property = instruction.getProperty();
        const name = property?.getName() ?? "";
        args[name] = options.args[name] ?? globalArgs[name] ?? property?.getValue() ?? args[name] ?? "";
      } else if (instruction instanceof Env) {
        for (const property of instruction.getProperties())
          env[property.getName()] = property.getValue() ?? "";
      } else if (keyword === "WORKDIR") {
        workdir = isAbsolute(content) ? content : join(workdir, content);
        await mkdir(inRoot(workdir), { recursive: true });
      } else if (instruction instanceof Copy) {
        const from = instruction.getFromFlag()?.getValue();
        const paths = instruction.getArguments().map((a) => a.getValue());
        const destination = paths.pop() ?? ".";
        const target = inRoot(isAbsolute(destination) ? destination : join(workdir, destination));
        for (const source of paths) {
          const origin = from ? join(roots[from] ?? "", source) : join(repoRoot, source);
          const isDir = (await stat(origin)).isDirectory();
          if (from && isDir) {
            await cp(origin, target, { recursive: true, verbatimSymlinks: true });
            continue;
          }
          for (const file of await filesUnder(origin)) {
            if (!from && ignored.ignores(relative(repoRoot, file))) continue;
            // As COPY does: a directory's contents go into the destination; a file into a directory keeps its name.
            const into = isDir
              ? join(target, relative(origin, file))
              : destination.endsWith("/")
                ? join(target, source.split("/").at(-1) ?? "")
                : target;
            await mkdir(dirname(into), { recursive: true });
            await cp(file, into, { preserveTimestamps: true, verbatimSymlinks: true });
          }
        }
      } else if (keyword === "RUN") {
        options.progress?.(`RUN ${content.slice(0, 100)}`);
        // At the lowest CPU priority: tests in the other worker keep their timing while a stage compiles.
        await run("nice", ["-n", "19", "sh", "-c", rewrite(content)], {
          cwd: inRoot(workdir),
          env: {
            // The base images' tools: Node.js 24 first, then the machine's.
            PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}`,
            HOME: process.env.HOME ?? "/root",
            ...machineSettings(),
            ...args,
            ...env,
          },
          maxBuffer: 64 * 1024 * 1024,
        });
      } else if (keyword === "ENTRYPOINT" || keyword === "CMD") {
        const value = JSON.parse(content) as string[];
        image = {
          roots,
          env: Object.fromEntries(
            Object.entries(env).map(([k, v]) => [
              k,
              rewrite(v.replaceAll(":", " : ")).replaceAll(" : ", ":"),
            ]),
          ),
          entrypoint: keyword === "ENTRYPOINT" ? value : (image?.entrypoint ?? []),
          cmd: keyword === "CMD" ? value : (image?.cmd ?? []),
        };
      }
    }
    if (stage.name === options.target) break;
  }
  return image ?? { roots, env: {}, entrypoint: [], cmd: [] };
}
