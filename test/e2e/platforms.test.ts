import { existsSync } from "node:fs";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadFixtures } from "@varstream/platforms/testing";
import { flatten } from "@varstream/shared";
import { GitRepo, Pipeline, type SignedRequest } from "@varstream/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const SECRET = "platform-secret";

/** Every platform of the registry, driven by its fixture (packages/platforms/src/<kind>/fixture.ts). */
const PLATFORMS = (await loadFixtures()).map(([name, fixture]) => ({ name, tenant: `t-${name}`, fixture }));

const appYaml = (port: number, extra = "") => `service:\n  name: web\n  port: ${port}\n${extra}`;

describe.each(PLATFORMS)("$name webhooks through the real pipeline to the file sink", (platform) => {
  const { fixture } = platform;
  let root: string;
  let repo: GitRepo;
  let out: string;
  let pipeline: Pipeline;
  const sinkFile = (env: string) => join(out, platform.tenant, env, "app.json");
  const readSink = async (env: string) => flatten(JSON.parse(await readFile(sinkFile(env), "utf8")));
  const send = async (req: SignedRequest) => {
    const res = await pipeline.post("file", req);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return pipeline.waitTask(res.body.task_id);
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "varstream-platform-"));
    repo = await GitRepo.create(`acme/${platform.name}-web`, root);
    out = await mkdtemp(join(tmpdir(), "varstream-platform-out-"));
    pipeline = await Pipeline.start({
      bundle: {
        bundle: {
          platforms: [{ [platform.name]: { endpoint: repo.endpoint, secret: SECRET } }],
          datasources: [{ file: { path: out } }],
          rules: [
            {
              platform: platform.name,
              prune: true,
              datasource: "file",
              repositories: ["acme/*"],
              file_patterns: ["config/*.yaml"],
              tenant: platform.tenant,
              branch_map: { main: "production" },
              env_as_pr: true,
              env_as_tags: true,
              destination_template: "{tenant}/{env}/{file_stem}",
            },
          ],
        },
      },
    });
  });

  afterAll(async () => {
    await pipeline?.stop();
    await repo?.cleanup();
  });

  it("push to main → env production", async () => {
    const commit = await repo.commit({ "config/app.yaml": appYaml(8080), "README.md": "docs" });
    const task = await send(fixture.push(repo, commit, SECRET));
    expect(task).toMatchObject({ state: "SUCCEEDED", env: "production", platform: platform.name });
    expect(await readSink("production")).toEqual({ "service.name": "web", "service.port": 8080 });
  });

  it("tag push → the tag's env, with every file at the tag", async () => {
    await repo.tag("v1.0");
    const task = await send(
      fixture.tag(repo, { before: "", after: repo.headSha, added: [], modified: [], removed: [] }, "v1.0", SECRET),
    );
    expect(task).toMatchObject({ state: "SUCCEEDED", env: "v1.0" });
    expect(await readSink("v1.0")).toEqual({ "service.name": "web", "service.port": 8080 });
  });

  it("pull request opened, synchronized and closed → its pr-<n> env comes and goes", async () => {
    const base = repo.headSha;
    const first = await repo.commitOnBranch("feature", { "config/app.yaml": appYaml(9000, "  preview: true\n") });
    // Only the pull ref keeps the head: the fetch must ask for it.
    await repo.setRef(fixture.prRef(7), first.after);
    await repo.deleteBranch("feature");
    const opened = await send(
      fixture.pullRequest(repo, { number: 7, action: "opened", head: first.after, base }, SECRET),
    );
    expect(opened).toMatchObject({ state: "SUCCEEDED", env: "pr-7" });
    expect(await readSink("pr-7")).toEqual({ "service.name": "web", "service.port": 9000, "service.preview": true });

    const second = await repo.commitOnBranch("feature", { "config/app.yaml": appYaml(9001) });
    await repo.setRef(fixture.prRef(7), second.after);
    const synced = await send(
      fixture.pullRequest(repo, { number: 7, action: "synchronize", head: second.after, base }, SECRET),
    );
    expect(synced.sinks.file?.scopes[0]).toMatchObject({ set: 1, unchanged: 1, pruned: 1 });
    expect(await readSink("pr-7")).toEqual({ "service.name": "web", "service.port": 9001 });

    const closed = await send(
      fixture.pullRequest(repo, { number: 7, action: "closed", head: second.after, base }, SECRET),
    );
    expect(closed.state).toBe("SUCCEEDED");
    expect(closed.sinks.file?.scopes[0]).toMatchObject({ pruned: 2 });
    expect(existsSync(sinkFile("pr-7"))).toBe(false);
    // The production env is untouched by the pull request.
    expect(await readSink("production")).toEqual({ "service.name": "web", "service.port": 8080 });
  });

  it("a pull request from a fork is refused and writes nothing", async () => {
    const head = repo.headSha;
    const res = await pipeline.post(
      "file",
      fixture.pullRequest(repo, { number: 8, action: "opened", head, base: head, fork: "evil/web" }, SECRET),
    );
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe("UNSUPPORTED_EVENT");
    expect(res.body.error?.message).toMatch(/fork/);
    expect(existsSync(sinkFile("pr-8"))).toBe(false);
  });
});
