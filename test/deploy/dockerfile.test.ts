import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Arg, Copy, type Instruction } from "dockerfile-ast";
import { beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../scaler/tools/paths.js";
import { BUNDLED_PLUGIN_SCRIPTS, requiredPulumiVersion } from "../../scaler/tools/pulumi.js";
import { type DockerfileStage, dockerfileStages } from "../../dev/testing/dockerBuild.js";

const keyword = (stage: DockerfileStage, word: string) =>
  stage.instructions.filter((i) => i.getKeyword() === word);
/** An instruction's arguments as written, with COPY's --from (the parser keeps flags apart). */
const content = (i: Instruction) => {
  const from = i instanceof Copy ? i.getFromFlag()?.getValue() : undefined;
  return `${from ? `--from=${from} ` : ""}${i.getArgumentsContent() ?? ""}`;
};

describe("the Dockerfile", () => {
  let text: string;
  let parsed: ReturnType<typeof dockerfileStages>;
  let runtime: DockerfileStage;

  beforeAll(async () => {
    text = await readFile(join(repoRoot, "Dockerfile"), "utf8");
    parsed = dockerfileStages(text);
    const last = parsed.stages.at(-1);
    if (!last) throw new Error("the Dockerfile has no stage");
    runtime = last;
  });

  it("builds in stages on the build platform, and only the runtime stage is for the target", () => {
    expect(parsed.stages.map((s) => s.from.getBuildStage())).toEqual(["build", "pulumi", null]);
    for (const stage of parsed.stages.slice(0, -1))
      expect(stage.from.getPlatformFlag()?.getValue(), stage.name).toBe("$BUILDPLATFORM");
    expect(runtime.from.getPlatformFlag()).toBeNull();
  });

  it("cross-compiles the pulumi CLI and the plugin launcher for TARGETARCH without cgo or emulation", () => {
    const go = parsed.stages[1];
    if (!go) throw new Error("no Go stage");
    expect(go.from.getImage()).toMatch(/^golang:\$\{GO_VERSION\}/);
    expect(keyword(go, "ARG").map(content)).toEqual(expect.arrayContaining(["TARGETARCH", "PULUMI_VERSION"]));
    const build = keyword(go, "RUN")
      .map(content)
      .find((c) => c.includes("go build"));
    expect(build).toMatch(/CGO_ENABLED=0 GOOS=\$\{TARGETOS:-linux\} GOARCH=\$\{TARGETARCH\} go build/);
    expect(build).toContain("github.com/pulumi/pulumi/pkg/v3/cmd/pulumi ./nodeplugin");
    expect(build).toContain("version.Version=v${PULUMI_VERSION}");
  });

  it("pins the Pulumi version the tools resolver and provider/pulumi/engine/go.mod pin", async () => {
    const pinned = /^ARG PULUMI_VERSION=(\S+)$/m.exec(text)?.[1];
    expect(pinned).toBe(requiredPulumiVersion());
    const goMod = await readFile(join(repoRoot, "provider", "pulumi", "engine", "go.mod"), "utf8");
    expect(goMod).toContain(`github.com/pulumi/pulumi/pkg/v3 v${pinned}`);
    expect(parsed.initial.flatMap((i) => (i instanceof Arg ? [i.getProperty()?.getName()] : []))).toEqual(
      expect.arrayContaining(["NODE_VERSION", "GO_VERSION", "PULUMI_VERSION"]),
    );
  });

  it("records VERSION, COMMIT and BUILD_DATE for --version", () => {
    const build = parsed.stages[0];
    if (!build) throw new Error("no build stage");
    expect(keyword(build, "ARG").map(content)).toEqual(
      expect.arrayContaining(["VERSION=dev", "COMMIT=unknown", "BUILD_DATE=unknown"]),
    );
    expect(keyword(build, "RUN").map(content).join("\n")).toMatch(
      /VERSION="\$VERSION" COMMIT="\$COMMIT" BUILD_DATE="\$BUILD_DATE" node scripts\/write-build-info\.js/,
    );
  });

  it("runs on distroless Node.js 24 as 65532:65532, with no shell: no RUN, exec-form entrypoint", () => {
    expect(runtime.from.getImage()).toMatch(/^gcr\.io\/distroless\/nodejs24-debian\d+:nonroot$/);
    expect(keyword(runtime, "RUN")).toEqual([]);
    expect(keyword(runtime, "USER").map(content)).toEqual(["65532:65532"]);
    const [entrypoint] = keyword(runtime, "ENTRYPOINT").map(content);
    expect(JSON.parse(entrypoint ?? "null")).toEqual(["/nodejs/bin/node", "/app/bin/vpsie-autoscaler.js"]);
    expect(JSON.parse(keyword(runtime, "CMD").map(content)[0] ?? "null")).toEqual(
      expect.arrayContaining(["run"]),
    );
  });

  it("installs each bundled plugin as the launcher with its script beside it, as the tools resolver does", () => {
    const copies = keyword(runtime, "COPY").map(content);
    for (const [plugin, script] of Object.entries(BUNDLED_PLUGIN_SCRIPTS)) {
      expect(copies).toContain(`--from=pulumi /out/nodeplugin /app/pulumi/bin/${plugin}`);
      expect(copies).toContain(`--from=build /src/${script} /app/pulumi/bin/${plugin}.mjs`);
    }
  });

  it("keeps out of the build context what it does not copy, and lets in what it does", async () => {
    const ignore = await readFile(join(repoRoot, ".dockerignore"), "utf8");
    const allowed = ignore
      .split("\n")
      .filter((l) => l.startsWith("!"))
      .map((l) => l.slice(1).replace(/\/$/, ""));
    expect(ignore.split("\n")).toContain("**");
    const build = parsed.stages[0];
    const go = parsed.stages[1];
    const sources = [build, go].flatMap((stage) =>
      keyword(stage ?? runtime, "COPY").flatMap((c) => {
        const args = c.getArguments().map((a) => a.getValue());
        return c instanceof Copy && c.getFromFlag() ? [] : args.slice(0, -1);
      }),
    );
    for (const source of sources)
      expect(
        allowed.some((a) => {
          const path = source.replace(/\/$/, "");
          return path === a || path.startsWith(`${a}/`) || a.startsWith(`${path}/`);
        }),
        `${source} is let into the build context`,
      ).toBe(true);
  });
});
