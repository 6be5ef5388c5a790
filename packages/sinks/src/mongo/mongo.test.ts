import { randomUUID } from "node:crypto";
import type { Scope } from "@varstream/shared";
import { desiredOf } from "@varstream/testkit";
import { MongoClient, ObjectId } from "mongodb";
import { afterAll, describe, expect, it } from "vitest";
import { applyDesired } from "../apply.ts";
import { connectSink } from "../registry.ts";
import { testDeps as deps, keySetOf as keySet, noRetry, retryOnce as options } from "../testing.ts";

describe("mongo sink against a real MongoDB wire server (FerretDB)", () => {
  const uri = `mongodb://127.0.0.1:${process.env.MONGO_PORT ?? 37017}/`;
  const database = `vs_${randomUUID().slice(0, 8)}`;
  const client = new MongoClient(uri);
  afterAll(async () => {
    await client.db(database).dropDatabase();
    await client.close();
  });

  it("names a collection after each destination when none is set, with the indexes a reader needs", async () => {
    const sink = await connectSink("mongo", "mongo", { uri, database }, deps);
    const scope: Scope = { datasource: "mongo", destination: "production-config", repo: "acme/c", file: "app.yaml" };
    const keys: Record<string, number | string | boolean> = { "db.host": "h", "db.port": 5432, debug: false };
    for (let i = 0; i < 120; i++) keys[`bulk.k${i}`] = i; // more than one bulk request
    expect(await applyDesired(sink, desiredOf(keySet(scope, "t1", keys)), options)).toMatchObject({
      outcome: "applied",
      set: 123,
    });
    const collection = client.db(database).collection("production-config");
    expect(await collection.findOne({ destination: "production-config", key: "db.port" })).toMatchObject({
      _id: "production-config|db.port",
      value: 5432,
    });
    expect(await collection.findOne({ key: "debug" })).toMatchObject({ value: false });
    const indexes = (await collection.listIndexes().toArray()).map((i) => i.key);
    expect(indexes).toContainEqual({ destination: 1, key: 1 });

    // every document rewritten and most pruned: more than FerretDB takes in one update command
    const next: Record<string, number> = {};
    for (let i = 0; i < 120; i++) next[`bulk.k${i}`] = i + 1;
    expect(await applyDesired(sink, desiredOf(keySet(scope, "t2", next)), options)).toMatchObject({
      set: 120,
      pruned: 3,
    });
    expect(await collection.countDocuments({ destination: "production-config" })).toBe(120);
    await sink.close();
  });

  it("keeps a null value a value: read back as empty text, and put back as null by the undo of a cut apply", async () => {
    const sink = await connectSink("mongo", "mongo", { uri, database, collection: "configs" }, deps);
    const scope: Scope = { datasource: "mongo", destination: "nulls", repo: "acme/c", file: "app.yaml" };
    expect(await applyDesired(sink, desiredOf(keySet(scope, "t1", { n: null, a: 1 })), options)).toMatchObject({
      outcome: "applied",
    });
    expect(await sink.readValues("nulls", ["n", "a", "gone"])).toEqual({ n: "", a: "1", gone: undefined });

    // An apply cut after its bulk write: n and a changed, b added, the journal (n, a, b as they were) left behind.
    const configs = client.db(database).collection<{ _id: string; value?: unknown }>("configs");
    const scopes = client.db(database).collection<{ _id: string; rev: number; rollback?: string }>("__varstream__");
    const id = "mongo|nulls|acme/c:app.yaml";
    const stored = await scopes.findOne({ _id: id });
    const snapshot = {
      collection: "configs",
      values: { "nulls|n": [null], "nulls|a": [1], "nulls|b": null },
      manifest: (stored as { manifest?: string }).manifest,
    };
    await scopes.updateOne({ _id: id }, { $set: { rev: stored!.rev + 1, rollback: JSON.stringify(snapshot) } });
    await configs.updateOne({ _id: "nulls|n" }, { $set: { value: "cut" } });
    await configs.updateOne({ _id: "nulls|a" }, { $set: { value: 2 } });
    await configs.insertOne({ _id: "nulls|b", destination: "nulls", key: "b", value: 3 } as never);

    expect(await sink.readManifest(scope)).toMatchObject({ task_id: "t1" });
    expect(await configs.findOne({ _id: "nulls|n" })).toMatchObject({ value: null });
    expect(await configs.findOne({ _id: "nulls|a" })).toMatchObject({ value: 1 });
    expect(await configs.findOne({ _id: "nulls|b" })).toBeNull();
    expect((await scopes.findOne({ _id: id }))?.rollback).toBeUndefined();
    await sink.close();
  });

  describe("the file layout: a document per source file, as varTrack's file strategy", () => {
    const files = () => client.db(database).collection<{ _id: string; [field: string]: unknown }>("snapshots");
    const config = { uri, database, collection: "snapshots", layout: "file" };
    const app: Scope = { datasource: "mongo", destination: "production", repo: "acme/c", file: "config/app.yaml" };
    const web: Scope = { ...app, file: "config/web.yaml" };

    it("writes the file's keys nested under data, labelled; changes, prunes, and keeps what others added", async () => {
      const sink = await connectSink("mongo", "mongo", config, deps);
      const first = { "db.host": "h", "db.port": 5432, "feature.on": true, empty: {}, local: "x" };
      const ks = keySet(app, "f1", first, ["local"]);
      expect(await applyDesired(sink, desiredOf({ ...ks, env: "production", tenant: "acme" }), options)).toMatchObject({
        outcome: "applied",
        set: 5,
      });
      expect(await files().findOne({ _vt_env: "production", _vt_file: "config/app.yaml" })).toEqual({
        _id: "mongo|production|acme/c:config/app.yaml",
        destination: "production",
        data: { db: { host: "h", port: 5432 }, feature: { on: true }, empty: {}, local: "x" },
        _vt_managed_by: "varstream",
        _vt_datasource: "mongo",
        _vt_env: "production",
        _vt_tenant: "acme",
        _vt_repo: "acme/c",
        _vt_branch: "main",
        _vt_commit: "commit-f1",
        _vt_file: "config/app.yaml",
      });
      const indexes = (await files().listIndexes().toArray()).map((i) => i.key);
      expect(indexes).toContainEqual({ destination: 1, _vt_env: 1, _vt_file: 1 });

      // Another tool adds fields (BSON types among them); the next commit changes one key and drops two
      // (one of them protected).
      const oid = new ObjectId();
      const at = new Date("2026-01-02T03:04:05Z");
      await files().updateOne(
        { _id: "mongo|production|acme/c:config/app.yaml" },
        { $set: { "data.added": 1, "data.meta": { id: oid, at } } },
      );
      const next = keySet(app, "f2", { "db.host": "h2", "db.port": 5432 }, ["local"]);
      expect(await applyDesired(sink, desiredOf({ ...next, env: "production" }), options)).toMatchObject({
        set: 1,
        unchanged: 1,
        pruned: 2,
      });
      const doc = await files().findOne({ _id: "mongo|production|acme/c:config/app.yaml" });
      expect(doc?.data).toEqual({ db: { host: "h2", port: 5432 }, local: "x", added: 1, meta: { id: oid, at } });
      expect((doc!.data as { meta: { id: unknown } }).meta.id).toBeInstanceOf(ObjectId);
      expect(doc?._vt_commit).toBe("commit-f2");
      expect(await sink.readValues("production", ["db.host", "feature.on"], app)).toEqual({
        "db.host": "h2",
        "feature.on": undefined,
      });
      await sink.close();
    });

    it("gives each file of a destination its own document: one key in two files is no conflict", async () => {
      const sink = await connectSink("mongo", "mongo", config, deps);
      const report = await applyDesired(sink, desiredOf(keySet(web, "w1", { "db.host": "web" })), options);
      expect(report).toMatchObject({ outcome: "applied", set: 1 });
      expect(JSON.stringify(report)).not.toContain("conflict");
      expect(await sink.readValues("production", ["db.host"], web)).toEqual({ "db.host": "web" });
      expect(await sink.readValues("production", ["db.host"], app)).toEqual({ "db.host": "h2" });
      expect(await files().countDocuments({ destination: "production" })).toBe(2);
      await sink.close();
    });

    it("removes a deleted file's document once none of its keys is left, and undoes a write the server refuses", async () => {
      const sink = await connectSink("mongo", "mongo", config, deps);
      const gone = { scope: web, taskId: "w2", commit: "commit-w2", keySet: null };
      expect(await applyDesired(sink, gone, options)).toMatchObject({ outcome: "applied", pruned: 1 });
      expect(await files().findOne({ _vt_file: "config/web.yaml" })).toBeNull();
      // one that another tool's field keeps: still found by its labels after the deletion
      await applyDesired(sink, desiredOf(keySet(web, "w3", { x: 1 })), options);
      await files().updateOne({ _vt_file: "config/web.yaml" }, { $set: { "data.foreign": true } });
      await applyDesired(sink, { scope: web, taskId: "w4", commit: "commit-w4", keySet: null }, options);
      expect(await files().findOne({ _vt_env: "default", _vt_file: "config/web.yaml" })).toMatchObject({
        data: { foreign: true },
        _vt_branch: "main",
      });
      await files().deleteOne({ _vt_file: "config/web.yaml" });

      // A field name the server refuses (FerretDB: $…) fails the write after the journal: the apply is undone
      // whole, the document (its BSON values too) and the manifest as they were.
      const before = await files().findOne({ _vt_file: "config/app.yaml" });
      expect((before!.data as { meta: { at: unknown } }).meta.at).toBeInstanceOf(Date);
      const refused = await applyDesired(sink, desiredOf(keySet(app, "f3", { $bad: 1, "db.host": "h3" })), options);
      expect(refused.outcome).toBe("failed");
      expect(await files().findOne({ _vt_file: "config/app.yaml" })).toEqual(before);
      expect(await sink.readManifest(app)).toMatchObject({ task_id: "f2" });
      await sink.close();
    });

    it("refuses to write a file's document without the unchanged keys its manifest lists (a layout switch)", async () => {
      const keyed = await connectSink("mongo", "mongo", { ...config, layout: "key" }, deps);
      const other: Scope = { ...app, file: "config/other.yaml" };
      await applyDesired(keyed, desiredOf(keySet(other, "o1", { a: 1, b: 2 })), options);
      await keyed.close();
      const sink = await connectSink("mongo", "mongo", config, deps);
      const switched = await applyDesired(sink, desiredOf(keySet(other, "o2", { a: 1, b: 3 })), noRetry);
      expect(switched).toMatchObject({ outcome: "failed" });
      expect(JSON.stringify(switched)).toMatch(/varstream sync mongo writes every key again/);
      // a repair (what varstream sync emits) writes every key, and the document is whole
      const repair = desiredOf({ ...keySet(other, "o3", { a: 1, b: 3 }), sync_mode: "repair" });
      expect(await applyDesired(sink, repair, options)).toMatchObject({ outcome: "applied" });
      expect((await files().findOne({ _vt_file: "config/other.yaml" }))?.data).toEqual({ a: 1, b: 3 });
      await sink.close();
    });
  });
});
