import { randomUUID } from "node:crypto";
import type { Scope } from "@varstream/shared";
import { desiredOf } from "@varstream/testkit";
import { MongoClient } from "mongodb";
import { afterAll, describe, expect, it } from "vitest";
import { applyDesired } from "../apply.ts";
import { connectSink } from "../registry.ts";
import { testDeps as deps, keySetOf as keySet, retryOnce as options } from "../testing.ts";

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
});
