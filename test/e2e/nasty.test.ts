import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PLATFORMS } from "@varstream/platforms";
import { fileSinkBundle, GitRepo, githubPushPayload, githubRequest, Pipeline } from "@varstream/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const SECRET = "nasty-secret";

describe("nasty inputs: each a clear error, nothing written, the service still answering", () => {
  let repo: GitRepo;
  let out: string;
  let pipeline: Pipeline;

  const pushFile = async (path: string, content: string | Buffer) => {
    const commit = await repo.commit({ [path]: content as string });
    const res = await pipeline.post("file", githubRequest(githubPushPayload(repo, commit), { secret: SECRET }));
    expect(res.status).toBe(202);
    return pipeline.waitTask(res.body.task_id);
  };
  const stillAnswering = async () => {
    expect((await fetch(`${pipeline.url}/v1/health`)).status).toBe(200);
    expect(await readdir(out)).toEqual([]);
  };

  beforeAll(async () => {
    repo = await GitRepo.create("acme/nasty");
    out = await mkdtemp(join(tmpdir(), "varstream-nasty-"));
    pipeline = await Pipeline.start({
      bundle: {
        bundle: {
          platforms: [{ github: { endpoint: repo.endpoint, secret: SECRET } }],
          datasources: [{ file: { path: out } }],
          rules: [{ platform: "github", datasource: "file", file_patterns: ["**/*.yaml", "**/*.json"] }],
        },
      },
      settings: { maxFileBytes: 64 * 1024 },
    });
  });

  afterAll(async () => {
    await pipeline?.stop();
    await repo?.cleanup();
  });

  it("a YAML alias bomb fails its task", async () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) {
      const [prev, cur] = [String.fromCharCode(96 + i), String.fromCharCode(97 + i)];
      levels.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(",")}]`);
    }
    const task = await pushFile("bomb.yaml", levels.join("\n"));
    expect(task.state).toBe("FAILED");
    expect(task.etl.files[0]?.error).toMatch(/alias/i);
    expect(task.etl.files[0]?.code).toBe("PARSE_ERROR");
    expect(task.code).toBe("PARSE_ERROR");
    await stillAnswering();
  });

  it("a file over MAX_FILE_BYTES fails with FILE_TOO_LARGE before it is parsed, and nothing is written", async () => {
    const task = await pushFile("huge.yaml", `a: "${"x".repeat(70 * 1024)}"\n`);
    expect(task.state).toBe("FAILED");
    expect(task).toMatchObject({
      code: "FILE_TOO_LARGE",
      etl: { files: [{ path: "huge.yaml", code: "FILE_TOO_LARGE" }] },
    });
    expect(task.etl.files[0]?.error).toMatch(/more than MAX_FILE_BYTES \(65536\)/);
    expect((await readdir(out, { recursive: true })).filter((f) => f.includes("huge"))).toEqual([]);
    await stillAnswering();
  });

  it("a config file that is not UTF-8 fails its task", async () => {
    const task = await pushFile("latin1.yaml", Buffer.from([0x61, 0x3a, 0x20, 0xe9, 0xff, 0x0a]));
    expect(task.state).toBe("FAILED");
    expect(task.etl.files[0]?.error).toMatch(/not valid UTF-8/);
    await stillAnswering();
  });

  it("a 50 MB body is refused with 413 before it is read", async () => {
    const body = Buffer.alloc(50 * 1024 * 1024, 0x20);
    const res = await fetch(`${pipeline.url}/v1/webhooks/file`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-github-event": "push" },
      body,
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("PAYLOAD_TOO_LARGE");
    await stillAnswering();
  });

  it("a webhook body nested 10,000 levels deep is handled, not a crash", async () => {
    const commit = await repo.commit({ "deep.txt": "x" });
    const deep = `${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}`;
    const body = JSON.stringify(githubPushPayload(repo, commit)).replace(/}$/, `,"extra":${deep}}`);
    const res = await pipeline.post("file", githubRequest(body, { secret: SECRET }));
    expect(res.status).toBe(202);
    expect((await pipeline.waitTask(res.body.task_id)).message).toBe("no matching rule");
    await stillAnswering();
  });

  it("a body that is not UTF-8 is BAD_JSON", async () => {
    const req = githubRequest("x", { secret: SECRET });
    const body = Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]);
    Object.assign(req.headers, PLATFORMS.github.sign(body, { eventName: "push", deliveryId: undefined }, SECRET));
    const res = await fetch(`${pipeline.url}/v1/webhooks/file`, { method: "POST", headers: req.headers, body });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/UTF-8/);
  });

  it("a changed path with ../ is INVALID_PAYLOAD", async () => {
    const commit = await repo.commit({ "ok.yaml": "a: 1\n" });
    const payload = githubPushPayload(repo, { ...commit, added: ["../../etc/passwd.yaml"] });
    const res = await pipeline.post("file", githubRequest(payload, { secret: SECRET }));
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe("INVALID_PAYLOAD");
    await stillAnswering();
  });

  it("a signature of the wrong length is SIGNATURE_INVALID", async () => {
    const commit = await repo.commit({ "sig.txt": "x" });
    const req = githubRequest(githubPushPayload(repo, commit), { secret: SECRET });
    req.headers["x-hub-signature-256"] = "sha256=abc";
    const res = await pipeline.post("file", req);
    expect(res.status).toBe(401);
    expect(res.body.error?.code).toBe("SIGNATURE_INVALID");
  });

  it("a clone URL outside the platform is refused at the door, before any fetch", async () => {
    const commit = await repo.commit({ "x.yaml": "a: 1\n" });
    const payload = githubPushPayload(repo, commit);
    (payload.repository as { clone_url: string }).clone_url = "file:///etc";
    const res = await pipeline.post("file", githubRequest(payload, { secret: SECRET }));
    expect(res.status).toBe(403);
    expect(res.body.error?.code).toBe("CLONE_URL_REFUSED");
    await stillAnswering();
  });
});

describe("a key set larger than a keysets record takes", () => {
  let repo: GitRepo;
  let out: string;
  let pipeline: Pipeline;

  beforeAll(async () => {
    repo = await GitRepo.create("acme/big-keyset");
    out = await mkdtemp(join(tmpdir(), "varstream-big-"));
    pipeline = await Pipeline.start({ bundle: fileSinkBundle(repo, { path: out }) });
  });

  afterAll(async () => {
    await pipeline?.stop();
    await repo?.cleanup();
  });

  it("fails its task with FILE_TOO_LARGE instead of the transaction, and the next commit applies", async () => {
    const value = "v".repeat(3 * 1024 * 1024);
    const big = await repo.commit({ "app.json": JSON.stringify({ a: value, b: value, c: value }) });
    const res = await pipeline.post("file", githubRequest(githubPushPayload(repo, big)));
    const task = await pipeline.waitTask(res.body.task_id, 60_000);
    expect(task.state).toBe("FAILED");
    expect(task.code).toBe("FILE_TOO_LARGE");
    expect(task.message).toMatch(/more than a keysets record takes/);
    expect(await readdir(out, { recursive: true })).toEqual([]);
    const canary = await repo.commit({ "app.json": '{"a": 1}' });
    const next = await pipeline.post("file", githubRequest(githubPushPayload(repo, canary)));
    expect((await pipeline.waitTask(next.body.task_id)).state).toBe("SUCCEEDED");
  });
});
