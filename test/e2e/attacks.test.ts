import { randomUUID } from "node:crypto";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { PLATFORMS } from "@varstream/platforms";
import { DEFAULT_TREE_LIMITS } from "@varstream/shared";
import {
  GitRepo,
  giteaPushPayload,
  giteaRequest,
  githubPullRequestPayload,
  githubPushPayload,
  githubRequest,
  gitlabPushPayload,
  gitlabRequest,
  Pipeline,
  type SignedRequest,
  TEST_REDIS_PORT,
} from "@varstream/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The attack and bad-input corpus: every case is tried against one running pipeline (real broker,
 * real file and Redis sinks) and must be *contained* — answered with its error code (or its task
 * FAILED with its reason), nothing written to any sink (read back from the stores), ingest still
 * answering, and a canary commit on the same repository (so the same partitions) applied afterwards.
 */

const SECRET = "corpus-webhook-secret";
const TOKENS = {
  reader: "reader-token-0123456789abcdef0123456789",
  syncer: "syncer-token-0123456789abcdef0123456789",
  admin: "admin-token-0123456789abcdef01234567890",
};
const RUN = `corpus-${randomUUID().slice(0, 8)}`;
const LIMITS = { ...DEFAULT_TREE_LIMITS, maxKeys: 500, maxKeyLength: 256, maxValueLength: 20_000 };

type Expect =
  | { http: number; code: string }
  | { task: "FAILED"; code: string }
  | { task: "NO_MATCH" | "SUCCEEDED" }
  | { ignored: true }
  | { grpc: grpc.status };

interface Case {
  kind: "webhook" | "content" | "destination" | "control";
  name: string;
  /** what must be in place first (it may write; the stores are read after it) */
  setup?: () => Promise<void>;
  /** does the attack; returns what it got, compared with `expect` */
  run: () => Promise<Got>;
  expect: Expect;
}

type Got = { http: number; code?: string; taskId?: string; ignored?: boolean } | { grpc: grpc.status };

describe("attack and bad-input corpus", () => {
  let root: string;
  let repo: GitRepo;
  let open: GitRepo;
  let gitea: GitRepo;
  let gitlab: GitRepo;
  let pipeline: Pipeline;
  let redis: Redis;
  let client: grpc.Client;
  let canaries = 0;
  const results: { name: string; kind: string; contained: boolean }[] = [];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "varstream-corpus-"));
    repo = await GitRepo.create("acme/corpus");
    open = await GitRepo.create("open/corpus");
    gitea = await GitRepo.create("acme/gitea-corpus");
    gitlab = await GitRepo.create("acme/gitlab-corpus");
    const all = [
      "**/*.yaml",
      "**/*.json",
      "**/*.jsonc",
      "**/*.toml",
      "**/*.xml",
      "**/*.properties",
      "**/*.ini",
      "**/*.env",
    ];
    pipeline = await Pipeline.start({
      token: TOKENS.reader,
      settings: { treeLimits: LIMITS, maxWebhookBytes: 256 * 1024 },
      bundle: {
        bundle: {
          platforms: [
            { github: { endpoint: repo.endpoint, secret: SECRET } },
            { github: { tag: "open", endpoint: open.endpoint, insecure_skip_signature: true } },
            { gitea: { endpoint: gitea.endpoint, secret: SECRET } },
            { gitlab: { endpoint: gitlab.endpoint, secret: SECRET } },
          ],
          datasources: [{ file: { path: join(root, "out") } }, { redis: { port: TEST_REDIS_PORT } }],
          rules: [
            {
              platform: "github",
              datasource: ["file", "redis"],
              repositories: ["acme/*"],
              file_patterns: [...all, "**/*.hcl"],
              branches: ["main"],
              branch_map: { main: "production" },
              destination_template: `${RUN}/{env}/{file_stem}`,
            },
            { platform: "github-open", datasource: "file", repositories: ["open/*"], file_patterns: all },
            {
              platform: "gitea",
              datasource: "redis",
              file_patterns: all,
              destination_template: `${RUN}/gitea/{file_stem}`,
            },
            {
              platform: "gitlab",
              datasource: "redis",
              file_patterns: all,
              destination_template: `${RUN}/gitlab/{file_stem}`,
            },
          ],
          control_plane: {
            tokens: [
              { name: "reader", token: TOKENS.reader, scopes: ["tasks:read"] },
              { name: "syncer", token: TOKENS.syncer, scopes: ["sync"] },
              { name: "admin", token: TOKENS.admin, scopes: ["tasks:read", "sync", "dry-run", "replay", "metrics"] },
            ],
          },
        },
      },
    });
    redis = new Redis({ port: TEST_REDIS_PORT });
    client = new grpc.Client(`127.0.0.1:${pipeline.ingest!.grpcPort}`, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client?.close();
    redis?.disconnect();
    await pipeline?.stop();
    for (const r of [repo, open, gitea, gitlab]) await r?.cleanup();
  });

  /** The data the sinks hold for this run (not their manifests), but the canary's destination. */
  async function stores(): Promise<string> {
    const files = (await readdir(join(root, "out"), { recursive: true }).catch(() => [])).filter(
      (f) => !f.includes("canary") && !f.includes(".varstream") && f.includes("."),
    );
    const contents = await Promise.all(
      files.sort().map(async (f) => `${f}=${await readFile(join(root, "out", f), "utf8").catch(() => "(dir)")}`),
    );
    const keys = (await redis.keys(`${RUN}/*`)).filter((k) => !k.includes("canary")).sort();
    const values = await Promise.all(
      keys.map(async (k) => {
        const { __meta__: _manifest, ...data } = await redis.hgetall(k);
        return `${k}=${JSON.stringify(data)}`;
      }),
    );
    return [...contents, ...values].join("\n");
  }

  /** A signed push of `files` to the secured GitHub repository; answers as ingest did. */
  async function push(files: Record<string, string | Buffer | null>, options: { branch?: string } = {}): Promise<Got> {
    const commit = options.branch ? await repo.commitOnBranch(options.branch, files) : await repo.commit(files);
    return post("file", githubRequest(githubPushPayload(repo, commit, options.branch), { secret: SECRET }));
  }

  async function post(datasource: string, req: SignedRequest, path = ""): Promise<Got> {
    const res = await pipeline.post(datasource, req, path);
    return {
      http: res.status,
      ...(res.body.error ? { code: res.body.error.code } : {}),
      ...(res.body.task_id ? { taskId: res.body.task_id } : {}),
      ...(res.body.message === "ignored" ? { ignored: true } : {}),
    };
  }

  async function call(path: string, token?: string): Promise<Got> {
    const metadata = new grpc.Metadata();
    if (token) metadata.set("authorization", `Bearer ${token}`);
    const code = await new Promise<grpc.status>((resolve) =>
      client.makeUnaryRequest(
        path,
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.alloc(0),
        metadata,
        (err) => resolve(err ? (err.code ?? grpc.status.UNKNOWN) : grpc.status.OK),
      ),
    );
    return { grpc: code };
  }

  async function http(method: string, path: string, token?: string, body?: string): Promise<Got> {
    const res = await fetch(`${pipeline.url}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: token.includes(" ") ? token : `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body }),
    });
    const json = (await res.json().catch(() => ({}))) as { error?: { code: string } };
    return { http: res.status, ...(json.error ? { code: json.error.code } : {}) };
  }

  /** Whether what happened is what the case expects (a task is waited for). */
  async function outcome(got: Got, expected: Expect): Promise<boolean> {
    if ("grpc" in expected) return "grpc" in got && got.grpc === expected.grpc;
    if ("grpc" in got) return false;
    if ("http" in expected) return got.http === expected.http && got.code === expected.code;
    if ("ignored" in expected) return got.http === 200 && got.ignored === true;
    if (got.http !== 202 || !got.taskId) return false;
    const task = await pipeline.waitTask(got.taskId);
    if (expected.task === "FAILED")
      return (
        task.state === "FAILED" && (task.code === expected.code || task.etl.files.some((f) => f.code === expected.code))
      );
    if (expected.task === "NO_MATCH") return task.state === "SUCCEEDED" && Object.keys(task.sinks ?? {}).length === 0;
    return task.state === expected.task;
  }

  async function canary(): Promise<boolean> {
    canaries += 1;
    const got = await push({ "canary.yaml": `n: ${canaries}\n` });
    if (!("http" in got) || !got.taskId) return false;
    const task = await pipeline.waitTask(got.taskId);
    return task.state === "SUCCEEDED" && (await redis.hget(`${RUN}/production/canary`, "n")) === String(canaries);
  }

  const alive = async () => (await fetch(`${pipeline.url}/v1/health/ready`)).status === 200;

  const signedGithub = (payload: unknown, options: { secret?: string; event?: string } = {}) =>
    githubRequest(payload, { secret: SECRET, ...options });
  const pushPayload = async (files: Record<string, string>) => githubPushPayload(repo, await repo.commit(files));
  const nested = (depth: number, open: (i: number) => string, close: (i: number) => string, leaf: string) =>
    Array.from({ length: depth }, (_, i) => open(i)).join("") +
    leaf +
    Array.from({ length: depth }, (_, i) => close(depth - 1 - i)).join("");

  const cases: Case[] = [
    // --- webhooks: signatures, entry choice, replays, sizes, encodings, refs, paths and URLs ---
    {
      kind: "webhook",
      name: "unsigned push",
      expect: { http: 401, code: "SIGNATURE_INVALID" },
      run: async () => post("file", githubRequest(await pushPayload({ "a.yaml": "a: 1\n" }))),
    },
    {
      kind: "webhook",
      name: "push signed with another secret",
      expect: { http: 401, code: "SIGNATURE_INVALID" },
      run: async () => post("file", githubRequest(await pushPayload({ "a.yaml": "a: 1\n" }), { secret: "guess" })),
    },
    {
      kind: "webhook",
      name: "signature of the wrong length",
      expect: { http: 401, code: "SIGNATURE_INVALID" },
      run: async () => {
        const req = signedGithub(await pushPayload({ "a.yaml": "a: 2\n" }));
        req.headers["x-hub-signature-256"] = "sha256=abc";
        return post("file", req);
      },
    },
    {
      kind: "webhook",
      name: "only the legacy sha1 signature",
      expect: { http: 401, code: "SIGNATURE_INVALID" },
      run: async () => {
        const req = signedGithub(await pushPayload({ "a.yaml": "a: 3\n" }));
        req.headers["x-hub-signature"] = `sha1=${"0".repeat(40)}`;
        delete req.headers["x-hub-signature-256"];
        return post("file", req);
      },
    },
    {
      kind: "webhook",
      name: "body changed after signing",
      expect: { http: 401, code: "SIGNATURE_INVALID" },
      run: async () => {
        const req = signedGithub(await pushPayload({ "a.yaml": "a: 4\n" }));
        req.body = req.body.replace('"main"', '"mainx"');
        return post("file", req);
      },
    },
    {
      kind: "webhook",
      name: "unsigned push naming the insecure entry (?platform=github-open) for the secured repo",
      expect: { http: 401, code: "SIGNATURE_INVALID" },
      run: async () => post("file", githubRequest(await pushPayload({ "a.yaml": "a: 5\n" })), "?platform=github-open"),
    },
    {
      kind: "webhook",
      name: "unsigned push naming the secured entry",
      expect: { http: 401, code: "SIGNATURE_INVALID" },
      run: async () => post("file", githubRequest(await pushPayload({ "a.yaml": "a: 6\n" })), "?platform=github"),
    },
    {
      kind: "webhook",
      name: "a platform name that is not configured",
      expect: { http: 400, code: "UNSUPPORTED_EVENT" },
      run: async () => post("file", signedGithub(await pushPayload({ "a.yaml": "a: 7\n" })), "?platform=nope"),
    },
    {
      kind: "webhook",
      name: "signed push whose clone URL is another repository",
      expect: { http: 403, code: "CLONE_URL_REFUSED" },
      run: async () => {
        const payload = await pushPayload({ "a.yaml": "a: 8\n" });
        (payload.repository as { clone_url: string }).clone_url = open.cloneUrl;
        return post("file", signedGithub(payload));
      },
    },
    {
      kind: "webhook",
      name: "signed push naming another repository's full_name",
      expect: { http: 403, code: "CLONE_URL_REFUSED" },
      run: async () => {
        const payload = await pushPayload({ "a.yaml": "a: 9\n" });
        (payload.repository as { full_name: string }).full_name = "acme/other";
        return post("file", signedGithub(payload));
      },
    },
    {
      kind: "webhook",
      name: "clone URL on the server's own disk",
      expect: { http: 403, code: "CLONE_URL_REFUSED" },
      run: async () => {
        const payload = await pushPayload({ "a.yaml": "a: 10\n" });
        (payload.repository as { clone_url: string }).clone_url = "file:///etc";
        return post("file", signedGithub(payload));
      },
    },
    {
      kind: "webhook",
      name: "clone URL walking up with ..",
      expect: { http: 403, code: "CLONE_URL_REFUSED" },
      run: async () => {
        const payload = await pushPayload({ "a.yaml": "a: 11\n" });
        (payload.repository as { clone_url: string }).clone_url = `${repo.endpoint}/acme/../../etc/acme/corpus`;
        return post("file", signedGithub(payload));
      },
    },
    {
      kind: "webhook",
      name: "clone URL on another host",
      expect: { http: 403, code: "CLONE_URL_REFUSED" },
      run: async () => {
        const payload = await pushPayload({ "a.yaml": "a: 12\n" });
        (payload.repository as { clone_url: string }).clone_url = "https://evil.example/acme/corpus.git";
        return post("file", signedGithub(payload));
      },
    },
    {
      kind: "webhook",
      name: "a replayed delivery older than the dedupe window",
      expect: { http: 410, code: "DELIVERY_EXPIRED" },
      run: async () => {
        const payload = await pushPayload({ "a.yaml": "a: 13\n" });
        (payload.repository as { pushed_at: number }).pushed_at = Math.floor(Date.now() / 1000) - 3 * 86_400;
        return post("file", signedGithub(payload));
      },
    },
    {
      kind: "webhook",
      name: "signed body that is not JSON",
      expect: { http: 400, code: "BAD_JSON" },
      run: async () => post("file", signedGithub("{not json")),
    },
    {
      kind: "webhook",
      name: "signed body that is not UTF-8",
      expect: { http: 400, code: "BAD_JSON" },
      run: async () => {
        const body = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
        const res = await fetch(`${pipeline.url}/v1/webhooks/file`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            ...PLATFORMS.github.sign(body, { eventName: "push", deliveryId: randomUUID() }, SECRET),
          },
          body,
        });
        return { http: res.status, code: ((await res.json()) as { error: { code: string } }).error.code };
      },
    },
    {
      kind: "webhook",
      name: "a body larger than MAX_WEBHOOK_BYTES",
      expect: { http: 413, code: "PAYLOAD_TOO_LARGE" },
      run: async () => post("file", signedGithub({ pad: "x".repeat(300 * 1024) })),
    },
    {
      kind: "webhook",
      name: "a content type that is not JSON",
      expect: { http: 415, code: "UNSUPPORTED_MEDIA_TYPE" },
      run: async () => {
        const req = signedGithub(await pushPayload({ "a.yaml": "a: 14\n" }));
        req.headers["content-type"] = "text/plain";
        return post("file", req);
      },
    },
    {
      kind: "webhook",
      name: "no platform event header",
      expect: { http: 400, code: "UNSUPPORTED_EVENT" },
      run: async () => {
        const req = signedGithub(await pushPayload({ "a.yaml": "a: 15\n" }));
        delete req.headers["x-github-event"];
        return post("file", req);
      },
    },
    {
      kind: "webhook",
      name: "a datasource the bundle does not have",
      expect: { http: 404, code: "UNKNOWN_DATASOURCE" },
      run: async () => post("nope", signedGithub(await pushPayload({ "a.yaml": "a: 16\n" }))),
    },
    {
      kind: "webhook",
      name: "GitLab push with the wrong token",
      expect: { http: 401, code: "SIGNATURE_INVALID" },
      run: async () =>
        post(
          "redis",
          gitlabRequest(gitlabPushPayload(gitlab, await gitlab.commit({ "a.yaml": "a: 1\n" })), { token: "wrong" }),
        ),
    },
    {
      kind: "webhook",
      name: "GitLab push without a token",
      expect: { http: 401, code: "SIGNATURE_INVALID" },
      run: async () =>
        post("redis", gitlabRequest(gitlabPushPayload(gitlab, await gitlab.commit({ "a.yaml": "a: 2\n" })))),
    },
    {
      kind: "webhook",
      name: "Gitea push signed with another secret",
      expect: { http: 401, code: "SIGNATURE_INVALID" },
      run: async () =>
        post(
          "redis",
          giteaRequest(giteaPushPayload(gitea, await gitea.commit({ "a.yaml": "a: 1\n" })), { secret: "guess" }),
        ),
    },
    {
      kind: "webhook",
      name: "Gitea push signed for GitHub's secured entry but sent to it as GitHub",
      expect: { http: 403, code: "CLONE_URL_REFUSED" },
      run: async () => post("file", signedGithub(giteaPushPayload(gitea, await gitea.commit({ "a.yaml": "a: 2\n" })))),
    },
    {
      kind: "webhook",
      name: "a push to a branch no rule takes",
      expect: { task: "NO_MATCH" },
      run: async () => push({ "a.yaml": "a: 17\n" }, { branch: "feature/x" }),
    },
    {
      kind: "webhook",
      name: "a push to a branch named constructor",
      expect: { task: "NO_MATCH" },
      run: async () => push({ "a.yaml": "a: 18\n" }, { branch: "constructor" }),
    },
    {
      kind: "webhook",
      name: "a push to a branch named __proto__",
      expect: { task: "NO_MATCH" },
      run: async () => push({ "a.yaml": "a: 19\n" }, { branch: "__proto__" }),
    },
    {
      kind: "webhook",
      name: "a same-repository pull request for a rule without env_as_pr",
      expect: { task: "NO_MATCH" },
      run: async () => {
        const head = await repo.commitOnBranch("pr-branch", { "a.yaml": "a: 20\n" });
        const payload = githubPullRequestPayload(repo, {
          number: 41,
          action: "opened",
          head: head.after,
          base: head.before,
          headBranch: "pr-branch",
          baseBranch: "main",
        });
        return post("file", signedGithub(payload, { event: "pull_request" }));
      },
    },
    {
      kind: "webhook",
      name: "a file listed as removed that git still has",
      expect: { task: "SUCCEEDED" },
      setup: async () => {
        const commit = await repo.commit({ "kept.yaml": "k: 1\n" });
        const got = await post("file", signedGithub(githubPushPayload(repo, commit)));
        if ("taskId" in got && got.taskId) await pipeline.waitTask(got.taskId);
      },
      // The payload says kept.yaml was removed; git has it at `after`: synced as it is, not deleted.
      run: async () => {
        const lie = await repo.commit({ "other.txt": "x" });
        return post(
          "file",
          signedGithub(githubPushPayload(repo, { ...lie, added: [], modified: [], removed: ["kept.yaml"] })),
        );
      },
    },
    {
      kind: "webhook",
      name: "a ref with a path walk",
      expect: { task: "NO_MATCH" },
      run: async () => {
        const payload = await pushPayload({ "a.yaml": "a: 21\n" });
        payload.ref = "refs/heads/../../../etc";
        return post("file", signedGithub(payload));
      },
    },
    {
      kind: "webhook",
      name: "an after commit git does not know",
      expect: { task: "FAILED", code: "GIT_ERROR" },
      run: async () => {
        const payload = await pushPayload({ "a.yaml": "a: 22\n" });
        payload.after = "f".repeat(40);
        return post("file", signedGithub(payload));
      },
    },
    {
      kind: "webhook",
      name: "an after that is an option, not a commit",
      expect: { http: 400, code: "INVALID_PAYLOAD" },
      run: async () => {
        const payload = await pushPayload({ "a.yaml": "a: 23\n" });
        payload.after = "--upload-pack=touch /tmp/pwned";
        return post("file", signedGithub(payload));
      },
    },
    {
      kind: "webhook",
      name: "a changed path walking out of the repository",
      expect: { http: 400, code: "INVALID_PAYLOAD" },
      run: async () => {
        const payload = await pushPayload({ "a.yaml": "a: 24\n" });
        (payload.commits as { modified: string[] }[])[0]!.modified = ["../../../../etc/passwd.yaml"];
        (payload.head_commit as { modified: string[] }).modified = ["../../../../etc/passwd.yaml"];
        return post("file", signedGithub(payload));
      },
    },

    {
      kind: "webhook",
      name: "signed push whose clone URL git reads as another host (a backslash)",
      expect: { http: 403, code: "CLONE_URL_REFUSED" },
      run: async () => {
        const payload = await pushPayload({ "a.yaml": "a: 25\n" });
        (payload.repository as { clone_url: string; full_name: string }).clone_url =
          `${repo.endpoint}\\@127.0.0.1:9/acme/corpus`;
        return post("file", signedGithub(payload));
      },
    },
    {
      kind: "webhook",
      name: "signed push whose full_name is no owner/name",
      expect: { http: 403, code: "CLONE_URL_REFUSED" },
      run: async () => {
        const payload = await pushPayload({ "a.yaml": "a: 26\n" });
        (payload.repository as { full_name: string }).full_name = "@evil/acme/corpus";
        return post("file", signedGithub(payload));
      },
    },
    {
      kind: "webhook",
      name: "a tag pushed at an unreviewed commit, for a rule without env_as_tags",
      expect: { task: "NO_MATCH" },
      run: async () => {
        const commit = await repo.commitOnBranch("unreviewed", { "a.yaml": "a: 27\n" });
        await repo.tag("v-unreviewed", commit.after);
        const payload = githubPushPayload(repo, commit);
        payload.ref = "refs/tags/v-unreviewed";
        return post("file", signedGithub(payload));
      },
    },
    {
      kind: "webhook",
      name: "a signed push to main naming a commit that is not on main",
      expect: { task: "SUCCEEDED" },
      run: async () => {
        const elsewhere = await repo.commitOnBranch("elsewhere", { "a.yaml": "a: 28\n" });
        return post("file", signedGithub(githubPushPayload(repo, elsewhere, "main")));
      },
    },
    // --- file contents, per format ---
    ...contentCases(),

    // --- destinations ---
    {
      kind: "destination",
      name: "a file name that renders a destination walking up",
      expect: { task: "FAILED", code: "DESTINATION_REFUSED" },
      run: async () => push({ "x/...yaml": "a: 1\n" }),
    },

    // --- the control plane: every route and RPC without a token and with the wrong scope ---
    ...controlCases(),
  ];

  function contentCases(): Case[] {
    const failed = (code: string) => ({ task: "FAILED" as const, code });
    const file = (name: string, path: string, text: string | Buffer, code: string): Case => ({
      kind: "content",
      name,
      expect: failed(code),
      run: async () => push({ [path]: text }),
    });
    const deepJson = nested(
      100,
      () => '{"a":',
      () => "}",
      "1",
    );
    const bigValue = "x".repeat(LIMITS.maxValueLength + 1);
    const manyKeys = Array.from({ length: LIMITS.maxKeys + 1 }, (_, i) => `k${i}: ${i}`).join("\n");
    return [
      file("YAML: a __proto__ map", "p1.yaml", "__proto__:\n  polluted: yes\n", "FORBIDDEN_KEY"),
      file(
        "YAML: a constructor.prototype path",
        "p2.yaml",
        "constructor:\n  prototype:\n    polluted: yes\n",
        "FORBIDDEN_KEY",
      ),
      file(
        "YAML: an alias bomb",
        "p3.yaml",
        `a: &a ["x","x","x","x","x","x","x","x","x"]\n${Array.from(
          { length: 12 },
          (_, i) =>
            `l${i + 1}: &l${i + 1} [${Array(9)
              .fill(i === 0 ? "*a" : `*l${i}`)
              .join(",")}]`,
        ).join("\n")}\n`,
        "PARSE_ERROR",
      ),
      file(
        "YAML: 100 levels deep",
        "p4.yaml",
        nested(
          100,
          (i) => `${"  ".repeat(i)}a:\n`,
          () => "",
          `${"  ".repeat(100)}b: 1\n`,
        ),
        "TREE_TOO_DEEP",
      ),
      file("YAML: a value beyond MAX_VALUE_LENGTH", "p5.yaml", `big: ${bigValue}\n`, "VALUE_TOO_LARGE"),
      file("YAML: more keys than MAX_KEYS_PER_FILE", "p6.yaml", `${manyKeys}\n`, "TOO_MANY_KEYS"),
      file("YAML: a key beyond MAX_KEY_LENGTH", "p7.yaml", `${"k".repeat(300)}: 1\n`, "KEY_TOO_LONG"),
      file("YAML: a scalar root", "p8.yaml", "just a string\n", "FLATTEN_ERROR"),
      file("YAML: broken syntax", "p9.yaml", "a: [1, 2\n", "PARSE_ERROR"),
      file("YAML: invalid UTF-8", "p10.yaml", Buffer.from([0x61, 0x3a, 0x20, 0xff, 0xfe, 0x0a]), "PARSE_ERROR"),
      file("JSON: a __proto__ key", "p11.json", '{"__proto__": {"polluted": "yes"}}', "FORBIDDEN_KEY"),
      file("JSON: a constructor key", "p12.json", '{"a": {"constructor": {"prototype": {"x": 1}}}}', "FORBIDDEN_KEY"),
      file("JSON: 100 levels deep", "p13.json", deepJson, "TREE_TOO_DEEP"),
      file(
        "JSON: 100000 levels of brackets",
        "p14.json",
        nested(
          100_000,
          () => "[",
          () => "]",
          "1",
        ),
        "TREE_TOO_DEEP",
      ),
      file("JSON: truncated", "p15.json", '{"a": ', "PARSE_ERROR"),
      file("JSON: a huge string", "p16.json", JSON.stringify({ big: bigValue }), "VALUE_TOO_LARGE"),
      file("TOML: broken syntax", "p17.toml", "a = = 1\n", "PARSE_ERROR"),
      file("TOML: a [__proto__] table", "p31.toml", '[__proto__]\npolluted = "yes"\n', "FORBIDDEN_KEY"),
      file("JSONC: a __proto__ key", "p32.jsonc", '{"__proto__": {"polluted": 1}} // c', "FORBIDDEN_KEY"),
      file(
        "TOML: deep inline tables",
        "p18.toml",
        `a = ${nested(
          100,
          () => "{ b = ",
          () => " }",
          "1",
        )}\n`,
        "TREE_TOO_DEEP",
      ),
      file(
        "XML: 120 nested elements",
        "p19.xml",
        nested(
          120,
          () => "<a>",
          () => "</a>",
          "x",
        ),
        "PARSE_ERROR",
      ),
      file(
        "XML: an entity declaration (XXE)",
        "p20.xml",
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
        "PARSE_ERROR",
      ),
      file(
        "XML: a __proto__ element",
        "p21.xml",
        "<r><__proto__><polluted>yes</polluted></__proto__></r>",
        "PARSE_ERROR",
      ),
      file("XML: not well-formed", "p22.xml", "<r><a></r>", "PARSE_ERROR"),
      file("properties: __proto__.x", "p23.properties", "__proto__.polluted=yes\n", "FORBIDDEN_KEY"),
      file(
        "properties: constructor.prototype.x",
        "p24.properties",
        "constructor.prototype.polluted=yes\n",
        "FORBIDDEN_KEY",
      ),
      file("INI: a [__proto__] section", "p25.ini", "[__proto__]\npolluted=yes\n", "FORBIDDEN_KEY"),
      file("INI: a line that is no INI", "p26.ini", "[a\nb\n", "PARSE_ERROR"),
      file("dotenv: __proto__=", "p27.env", "__proto__=yes\n", "FORBIDDEN_KEY"),
      file("dotenv: an unclosed quote", "p28.env", 'A="open\n', "PARSE_ERROR"),
      file("HCL: a __proto__ block", "p29.hcl", '__proto__ = { polluted = "yes" }\n', "FORBIDDEN_KEY"),
      file("HCL: broken syntax", "p30.hcl", "a = {\n", "PARSE_ERROR"),
    ];
  }

  function controlCases(): Case[] {
    const c = (name: string, run: () => Promise<Got>, expected: Expect): Case => ({
      kind: "control",
      name,
      run,
      expect: expected,
    });
    const unauth = { http: 401, code: "UNAUTHENTICATED" } as const;
    const forbidden = { http: 403, code: "FORBIDDEN" } as const;
    const dryRunBody = async (token?: string) => {
      const req = signedGithub(await pushPayload({ "d.yaml": "d: 1\n" }));
      const res = await fetch(`${pipeline.url}/v1/webhooks/file/dry-run`, {
        method: "POST",
        headers: { ...req.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: req.body,
      });
      const json = (await res.json().catch(() => ({}))) as { error?: { code: string } };
      return { http: res.status, ...(json.error ? { code: json.error.code } : {}) };
    };
    return [
      c("GET /v1/tasks without a token", () => http("GET", "/v1/tasks"), unauth),
      c(
        "GET /v1/tasks with an unknown token",
        () => http("GET", "/v1/tasks", "not-a-token-but-long-enough-0123456789"),
        unauth,
      ),
      c(
        "GET /v1/tasks with Basic credentials",
        () => http("GET", "/v1/tasks", `Basic ${Buffer.from("a:b").toString("base64")}`),
        unauth,
      ),
      c("GET /v1/tasks with a sync-only token", () => http("GET", "/v1/tasks", TOKENS.syncer), forbidden),
      c("GET /v1/tasks/:id without a token", () => http("GET", "/v1/tasks/x"), unauth),
      c("GET /v1/tasks/:id with a sync-only token", () => http("GET", "/v1/tasks/x", TOKENS.syncer), forbidden),
      c("POST /v1/sync without a token", () => http("POST", "/v1/sync/file", undefined, "{}"), unauth),
      c("POST /v1/sync with a read-only token", () => http("POST", "/v1/sync/file", TOKENS.reader, "{}"), forbidden),
      c("POST dry-run without a token", () => dryRunBody(), unauth),
      c("POST dry-run with a read-only token", () => dryRunBody(TOKENS.reader), forbidden),
      c("GET /metrics without a token", () => http("GET", "/metrics"), unauth),
      c("GET /metrics with a read-only token", () => http("GET", "/metrics", TOKENS.reader), forbidden),
      c("gRPC GetWebhookTask without a token", () => call("/vartrack.v1.Orchestrator/GetWebhookTask"), {
        grpc: grpc.status.UNAUTHENTICATED,
      }),
      c(
        "gRPC GetWebhookTask with a sync-only token",
        () => call("/vartrack.v1.Orchestrator/GetWebhookTask", TOKENS.syncer),
        { grpc: grpc.status.PERMISSION_DENIED },
      ),
      c("gRPC SyncDatasource without a token", () => call("/vartrack.v1.Watcher/SyncDatasource"), {
        grpc: grpc.status.UNAUTHENTICATED,
      }),
      c(
        "gRPC SyncDatasource with a read-only token",
        () => call("/vartrack.v1.Watcher/SyncDatasource", TOKENS.reader),
        { grpc: grpc.status.PERMISSION_DENIED },
      ),
      c("gRPC TriggerSync without a token", () => call("/varstream.v1.Control/TriggerSync"), {
        grpc: grpc.status.UNAUTHENTICATED,
      }),
      c("gRPC TriggerSync with an unknown token", () => call("/varstream.v1.Control/TriggerSync", "x".repeat(40)), {
        grpc: grpc.status.UNAUTHENTICATED,
      }),
    ];
  }

  it("has at least 64 cases across webhooks, contents, destinations and the control plane", () => {
    expect(cases.length).toBeGreaterThanOrEqual(64);
    expect(new Set(cases.map((c) => c.kind))).toEqual(new Set(["webhook", "content", "destination", "control"]));
  });

  for (const attack of cases) {
    it(`${attack.kind}: ${attack.name}`, async () => {
      await attack.setup?.();
      const before = await stores();
      const got = await attack.run();
      const expected = await outcome(got, attack.expect);
      const up = await alive();
      // After the canary: by then anything the attack got published would have reached the sinks too.
      const next = await canary();
      const untouched = (await stores()) === before;
      results.push({ name: attack.name, kind: attack.kind, contained: expected && untouched && up && next });
      expect({ got, expected, untouched, up, canary: next }).toMatchObject({
        expected: true,
        untouched: true,
        up: true,
        canary: true,
      });
    });
  }

  it("prints the figure", () => {
    const contained = results.filter((r) => r.contained).length;
    const counts = new Map<string, number>();
    for (const r of results) counts.set(r.kind, (counts.get(r.kind) ?? 0) + 1);
    const byKind = [...counts].map(([k, n]) => `${k} ${n}`).join(", ");
    console.log(`attack corpus: ${contained}/${cases.length} contained (${byKind})`);
    expect(contained).toBe(cases.length);
  });
});
