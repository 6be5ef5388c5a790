import { RedisScenario, waitFor } from "@varstream/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const yaml = (port: number, keys = 20) =>
  `${Array.from({ length: keys - 1 }, (_, i) => `key${i}: value-${i}`).join("\n")}\nport: ${port}\n`;

describe("restarting services between commits", () => {
  let s: RedisScenario;
  const push = (content: string) => s.push({ "svc.yaml": content });

  beforeAll(async () => {
    s = await RedisScenario.start("restart", (dest) => ({ file_name: "svc.yaml", destination_template: dest }));
  });

  afterAll(() => s?.stop());

  it("applies the change made while the sink-writer was down exactly once, and loses none", async () => {
    const { pipeline, redis, dest } = s;
    const first = await push(yaml(1));
    expect((await pipeline.waitTask(first)).sinks.redis?.scopes[0]).toMatchObject({ set: 20, unchanged: 0 });

    await pipeline.stopSinkWriter();
    const second = await push(yaml(2));
    const running = await waitFor(async () => {
      const doc = await pipeline.task(second);
      return doc?.state === "RUNNING" ? doc : undefined;
    });
    expect(running.sinks.redis?.state).toBe("pending");
    expect(await redis.hget(dest, "port")).toBe("1");

    await pipeline.startSinkWriter();
    const done = await pipeline.waitTask(second);
    expect(done.state).toBe("SUCCEEDED");
    expect(done.sinks.redis?.scopes).toEqual([
      expect.objectContaining({ set: 1, unchanged: 19, pruned: 0, rolled_back: false }),
    ]);
    expect(await redis.hget(dest, "port")).toBe("2");
    // The first task's report was not rewritten by a second apply.
    expect((await pipeline.task(first))?.sinks.redis?.scopes[0]).toMatchObject({ set: 20, unchanged: 0 });
  });

  it("keeps every task id handed out across an ingest restart", async () => {
    const { pipeline, redis, dest } = s;
    const ids = [await push(yaml(3)), await push(yaml(4))];
    await pipeline.ingest?.close();
    await pipeline.startIngest();
    for (const id of ids) expect((await pipeline.waitTask(id)).state).toBe("SUCCEEDED");
    expect(await redis.hget(dest, "port")).toBe("4");
  });
});
