import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FlatValue, flatten, type Scope } from "@varstream/shared";
import { desiredOf, makeKeySet } from "@varstream/testkit";
import { beforeAll, describe, expect, it } from "vitest";
import { applyDesired } from "../apply.ts";
import { connectSink } from "../registry.ts";
import { testDeps as deps, keySetOf as keySet, noRetry as once, retryOnce as options } from "../testing.ts";
import { FileSink, type FileSinkOptions } from "./file-sink.ts";
import { LocalStore } from "./store.ts";

const desired = desiredOf;
const text = (values: Record<string, FlatValue>) =>
  Object.fromEntries(Object.entries(values).map(([k, v]) => [k, String(v)]));
const desiredKeys = (scope: Scope, taskId: string, values: Record<string, FlatValue>) =>
  desiredOf(makeKeySet(scope, values, { task_id: taskId, commit: `c-${randomUUID().slice(0, 8)}` }));

describe("file sink (json) on disk", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "varstream-file-"));
  });

  it("writes a destination holding @sensitive or @secret values readable by its owner only (0600)", async () => {
    const sink = await connectSink("file", "file", { path: dir, format: "json" }, deps);
    const scope: Scope = { datasource: "file", destination: "secret/app", repo: "acme/c", file: "s.yaml" };
    const marked = keySet(scope, "s1", { password: "hunter2", user: "app" });
    await applyDesired(sink, desired({ ...marked, sensitive: ["password"] }), options);
    expect((await stat(join(dir, "secret/app.json"))).mode & 0o777).toBe(0o600);
    expect((await sink.readManifest(scope))?.sensitive).toEqual(["password"]);
    const plainScope = { ...scope, destination: "plain/app" };
    await applyDesired(sink, desired(keySet(plainScope, "p1", { user: "app" })), options);
    expect((await stat(join(dir, "plain/app.json"))).mode & 0o777).toBe(0o644);
  });

  it("keeps types in JSON, refuses unsafe destinations and files that are not maps", async () => {
    const sink = await connectSink("file", "file", { path: dir, format: "json" }, deps);
    const scope: Scope = { datasource: "file", destination: "typed/app", repo: "acme/c", file: "x.yaml" };
    await applyDesired(sink, desired(keySet(scope, "t1", { n: 1, b: true, s: "x", e: {} })), options);
    expect(flatten(JSON.parse(await readFile(join(dir, "typed/app.json"), "utf8")))).toEqual({
      b: true,
      e: {},
      n: 1,
      s: "x",
    });
    const escaped = await applyDesired(
      sink,
      desired(keySet({ ...scope, destination: "../etc/x" }, "t2", { a: 1 })),
      options,
    );
    expect(escaped).toMatchObject({ outcome: "failed" });
    expect(escaped.error).toMatch(/not a safe relative path/);
    await writeFile(join(dir, "list.json"), "[1,2]");
    const notMap = await applyDesired(
      sink,
      desired(keySet({ ...scope, destination: "list" }, "t3", { a: 1 })),
      options,
    );
    expect(notMap.error).toMatch(/does not hold a map/);
    expect(await readFile(join(dir, "list.json"), "utf8")).toBe("[1,2]");
  });
});

describe("file sink formats", () => {
  const scope = (destination: string): Scope => ({ datasource: "file", destination, repo: "acme/c", file: "x.yaml" });

  it("json and yaml hold the tree the keys came from; env and properties the flat keys", async () => {
    const dir = await mkdtemp(join(tmpdir(), "varstream-formats-"));
    const keys = {
      "db.host": "h",
      "db.port": 5432,
      "servers.0": "a",
      "servers.1": "b",
      "msg.text": 'it\'s "quoted"\nnext',
    };
    for (const format of ["json", "yaml", "env", "properties"] as const) {
      const sink = await connectSink("file", format, { path: dir, format }, deps);
      const report = await applyDesired(sink, desired(keySet(scope(`app-${format}`), "t1", keys)), options);
      expect(report.outcome, `${format}: ${report.error}`).toBe("applied");
    }
    expect(JSON.parse(await readFile(join(dir, "app-json.json"), "utf8"))).toEqual({
      db: { host: "h", port: 5432 },
      msg: { text: 'it\'s "quoted"\nnext' },
      servers: ["a", "b"],
    });
    expect(await readFile(join(dir, "app-yaml.yaml"), "utf8")).toContain("db:\n  host: h\n  port: 5432\n");
    const env = await readFile(join(dir, "app-env.env"), "utf8");
    expect(env).toContain("db.host=h\n");
    expect(env).toContain("db.port=5432\n");
    const { parse } = await import("dotenv");
    expect(parse(env)["msg.text"]).toBe('it\'s "quoted"\nnext');
    const properties = await readFile(join(dir, "app-properties.properties"), "utf8");
    expect(properties).toContain("db.host = h");
    // Re-applying reads each file back: nothing changes.
    for (const format of ["json", "yaml", "env", "properties"] as const) {
      const sink = await connectSink("file", format, { path: dir, format }, deps);
      const again = await applyDesired(sink, desired(keySet(scope(`app-${format}`), "t2", keys)), options);
      expect(again, format).toMatchObject({ set: 0, unchanged: 5 });
    }
  });

  it("refuses keys that cannot nest instead of crashing, and writes nothing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "varstream-formats-"));
    const sink = await connectSink("file", "file", { path: dir, format: "json" }, deps);
    const report = await applyDesired(sink, desired(keySet(scope("clash"), "t1", { a: 1, "a.b": 2 })), options);
    expect(report).toMatchObject({ outcome: "failed", rolled_back: true });
    expect(report.error).toMatch(/a\.b is under a, which is a value|a has a value and also keys below it/);
    await expect(readFile(join(dir, "clash.json"), "utf8")).rejects.toThrow(/ENOENT/);
  });
});

/** The file sink over a store of the test's choosing. */
class TestFileSink extends FileSink {
  constructor(name: string, options: FileSinkOptions) {
    super(name, options);
  }
}

/** A local store whose next write of a data file fails after the manifest file was written. */
class CrashingStore extends LocalStore {
  crashNext = false;
  override async write(path: string, content: string, validate?: (tempPath: string) => Promise<void>) {
    if (this.crashNext && !path.startsWith(".varstream/")) {
      this.crashNext = false;
      throw new Error("crashed before the data file landed");
    }
    return super.write(path, content, validate);
  }
}

describe("file: a write cut off between the manifest and the data file", () => {
  it("puts the manifest back, so the next apply re-writes what did not land", async () => {
    const dir = await mkdtemp(join(tmpdir(), "varstream-crash-"));
    const store = new CrashingStore(dir);
    const sink = new TestFileSink("s", { format: "json", store });
    const scope: Scope = { datasource: "s", destination: "app", repo: "acme/c", file: "app.yaml" };
    const readData = async () => text(flatten(JSON.parse(await readFile(join(dir, "app.json"), "utf8"))));
    await applyDesired(sink, desiredKeys(scope, "t1", { a: 1, b: 1 }), once);
    store.crashNext = true;
    const failed = await applyDesired(sink, desiredKeys(scope, "t2", { a: 2, c: 2 }), once);
    expect(failed).toMatchObject({ outcome: "failed", rolled_back: true });
    expect(await readData()).toEqual({ a: "1", b: "1" });
    expect(await sink.readManifest(scope)).toMatchObject({ task_id: "t1" });
    // Had the manifest stayed at t2, `c` would count as written and `b` as not varstream's: neither happens.
    expect(await applyDesired(sink, desiredKeys(scope, "t3", { a: 2, c: 2 }), once)).toMatchObject({
      outcome: "applied",
      set: 2,
      pruned: 1,
    });
    expect(await readData()).toEqual({ a: "2", c: "2" });
  });
});
