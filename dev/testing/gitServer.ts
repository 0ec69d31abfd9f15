/**
 * A Git server for the GitOps tests: Git's own smart-HTTP server (`git http-backend`, a CGI program
 * of the git package) behind a small HTTP server on 127.0.0.1, with HTTP basic authentication, so the
 * scaler's Git client talks to what GitHub, GitLab or Gitea speak. A person's clone and commits use the
 * `git` command against the same bare repository.
 */
import { execFile, spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface TestGitServer {
  /** The repository's URL, without credentials. */
  url: string;
  /** The bare repository on disk. */
  bareDir: string;
  username: string;
  token: string;
  /** Requests served, and how many were refused for bad credentials. */
  requests: { served: number; unauthorized: number; pushes: number };
  /** Runs `hook` when the next push to a branch arrives, before the server takes it (a person pushing first). */
  beforeNextPush: (hook: () => Promise<void>) => void;
  /**
   * Runs `hook` once the server has taken the next push to a branch (its ref moved), before the answer
   * is sent: a client killed by the hook dies with its commit pushed, never learning so.
   */
  afterNextPush: (hook: () => void) => void;
  stop: () => Promise<void>;
}

/** `git` with a fixed identity and no user or system configuration, so a test sees the same on every machine. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  try {
    const { stdout } = await run("git", args, {
      cwd,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: cwd,
        GIT_CONFIG_NOSYSTEM: "1",
        GIT_AUTHOR_NAME: "Ada Person",
        GIT_AUTHOR_EMAIL: "ada@example.com",
        GIT_COMMITTER_NAME: "Ada Person",
        GIT_COMMITTER_EMAIL: "ada@example.com",
      },
    });
    return stdout;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT")
      throw new Error("the GitOps tests need the git command (Debian's package git: apt-get install git)", {
        cause: err,
      });
    throw err;
  }
}

function cgi(
  req: IncomingMessage,
  res: ServerResponse,
  root: string,
  user: string,
  body?: Buffer,
  beforeAnswer?: () => void,
): void {
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  const child = spawn("git", ["http-backend"], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: "1",
      // http-backend accepts pushes from an authenticated user.
      REMOTE_USER: user,
      REQUEST_METHOD: req.method ?? "GET",
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.slice(1),
      CONTENT_TYPE: req.headers["content-type"] ?? "",
      CONTENT_LENGTH: req.headers["content-length"] ?? "",
      HTTP_CONTENT_ENCODING: req.headers["content-encoding"] ?? "",
      GIT_HTTP_MAX_REQUEST_BUFFER: "100M",
    },
    stdio: ["pipe", "pipe", "ignore"],
  });
  if (body) child.stdin.end(body);
  else req.pipe(child.stdin);
  let head = Buffer.alloc(0);
  let headerDone = false;
  const answer = (chunk: Buffer) => {
    if (headerDone) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf("\r\n\r\n");
    if (end < 0) return;
    headerDone = true;
    let status = 200;
    for (const line of head.subarray(0, end).toString().split("\r\n")) {
      const colon = line.indexOf(":");
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === "status") status = Number(value.split(" ")[0]);
      else res.setHeader(name, value);
    }
    res.statusCode = status;
    res.write(head.subarray(end + 4));
  };
  // Held whole when a hook is to run between the backend's work and the answer.
  const held: Buffer[] = [];
  child.stdout.on("data", (chunk: Buffer) => (beforeAnswer ? held.push(chunk) : answer(chunk)));
  child.on("close", () => {
    if (beforeAnswer) {
      beforeAnswer();
      answer(Buffer.concat(held));
    }
    res.end();
  });
}

/** A bare repository with `initial` files committed on `branch`, served until `stop`. */
export async function startGitServer(
  dir: string,
  initial: Record<string, string>,
  branch = "main",
): Promise<TestGitServer> {
  const root = join(dir, "served");
  const bareDir = join(root, "cluster.git");
  await mkdir(bareDir, { recursive: true });
  await git(bareDir, "init", "--bare", "--initial-branch", branch);
  const seed = join(dir, "seed");
  await mkdir(seed, { recursive: true });
  await git(seed, "init", "--initial-branch", branch);
  for (const [path, text] of Object.entries(initial)) {
    await mkdir(join(seed, path, ".."), { recursive: true });
    await writeFile(join(seed, path), text);
  }
  await git(seed, "add", "-A");
  await git(seed, "commit", "-m", "the cluster's node groups");
  await git(seed, "push", bareDir, `HEAD:refs/heads/${branch}`);

  const username = "scaler";
  const token = `test-token-${Math.random().toString(36).slice(2)}`;
  const expected = `Basic ${Buffer.from(`${username}:${token}`).toString("base64")}`;
  const requests = { served: 0, unauthorized: 0, pushes: 0 };
  let before: (() => Promise<void>) | undefined;
  let after: (() => void) | undefined;
  const server = createServer((req, res) => {
    if (req.headers.authorization !== expected) {
      requests.unauthorized += 1;
      res.writeHead(401, { "WWW-Authenticate": 'Basic realm="git"' }).end();
      return;
    }
    requests.served += 1;
    if (!(req.method === "POST" && req.url?.endsWith("/git-receive-pack"))) {
      cgi(req, res, root, username);
      return;
    }
    requests.pushes += 1;
    // The body is read whole first, so a hook runs between the client's ref advertisement and its push.
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      // The commands come first in the body: "<old> <new> refs/heads/main"; notes pushes pass untouched.
      const branch = body.subarray(0, 200).includes("refs/heads/");
      const hook = branch ? before : undefined;
      const done = branch ? after : undefined;
      if (branch) [before, after] = [undefined, undefined];
      void (hook ?? (() => Promise.resolve()))().then(() => cgi(req, res, root, username, body, done));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  // Bounded: a test that forgets to stop it does not keep the process alive.
  const timer = setTimeout(() => server.close(), 30 * 60_000).unref();
  return {
    url: `http://127.0.0.1:${port}/cluster.git`,
    bareDir,
    username,
    token,
    requests,
    beforeNextPush: (hook) => {
      before = hook;
    },
    afterNextPush: (hook) => {
      after = hook;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
