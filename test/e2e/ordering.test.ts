import { execFileSync } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { RedisScenario } from "@varstream/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

describe("late events never roll a scope back", () => {
  let s: RedisScenario;

  beforeAll(async () => {
    s = await RedisScenario.start("order", (dest) => ({ file_name: "app.yaml", destination_template: dest }));
  });

  afterAll(() => s?.stop());

  it("reports an event for an ancestor of the scope's last commit as superseded, also after an ETL restart", async () => {
    const { repo, pipeline, redis, dest } = s;
    const c1 = await repo.commit({ "app.yaml": "version: 1\n" });
    const c2 = await repo.commit({ "app.yaml": "version: 2\n" });
    for (const c of [c1, c2]) {
      expect((await pipeline.waitTask(await s.post(c))).state).toBe("SUCCEEDED");
    }
    expect(await redis.hget(dest, "version")).toBe("2");

    const task = await pipeline.waitTask(await s.post(c1));
    expect(task).toMatchObject({ state: "SUCCEEDED" });
    expect(task.message).toMatch(/^superseded/);
    expect(task.sinks).toEqual({});
    expect(await redis.hget(dest, "version")).toBe("2");

    // A new ETL instance learns the scopes' last commits from the compacted topic.
    await pipeline.etl?.close();
    await pipeline.startEtl();
    expect((await pipeline.waitTask(await s.post(c1))).message).toMatch(/^superseded/);

    expect((await pipeline.waitTask(await s.push({ "app.yaml": "version: 3\n" }))).state).toBe("SUCCEEDED");
    expect(await redis.hget(dest, "version")).toBe("3");
  });

  it("judges an event against the ones before it in the same chunk: a late redelivery there writes nothing", async () => {
    const { repo, pipeline, redis, dest } = s;
    // The ETL away while both are accepted, so it reads them in one chunk: the newer commit, then an older one.
    await pipeline.etl?.close();
    const c4 = await repo.commit({ "app.yaml": "version: 4\n" });
    const c5 = await repo.commit({ "app.yaml": "version: 5\n" });
    const newer = await s.post(c5);
    const older = await s.post(c4);
    await pipeline.startEtl();
    expect((await pipeline.waitTask(newer)).state).toBe("SUCCEEDED");
    const late = await pipeline.waitTask(older);
    expect(late.message).toMatch(/^superseded/);
    expect(late.sinks).toEqual({});
    expect(await redis.hget(dest, "version")).toBe("5");
  });

  it("drops a late event its cache cannot judge (a force-push, or a newer commit another replica synced)", async () => {
    const { repo, pipeline, redis, dest } = s;
    const c6 = await repo.commit({ "app.yaml": "version: 6\n" });
    expect((await pipeline.waitTask(await s.post(c6))).state).toBe("SUCCEEDED");
    // A force-push drops c6; c7 is made on its parent and synced.
    await repo.handle.raw(["reset", "--hard", "HEAD~1"]);
    const c7 = await repo.commit({ "app.yaml": "version: 7\n" });
    expect((await pipeline.waitTask(await s.post(c7))).state).toBe("SUCCEEDED");
    expect(await redis.hget(dest, "version")).toBe("7");
    // This ETL's cache as a replica's that synced c6 but never saw the force-push: its branch still at c6.
    const caches = (await readdir(pipeline.settings.gitCacheDir, { recursive: true })).filter((d) =>
      d.endsWith(".git"),
    );
    expect(caches.length).toBeGreaterThan(0);
    for (const dir of caches)
      execFileSync("git", ["-C", join(pipeline.settings.gitCacheDir, dir), "update-ref", "refs/heads/main", c6.after]);
    // c6's webhook, late (a redelivery): not on the branch any more, whatever the cache said.
    const late = await pipeline.waitTask(await s.post(c6));
    expect(late.message).toMatch(/^superseded/);
    expect(await redis.hget(dest, "version")).toBe("7");
  });
});
