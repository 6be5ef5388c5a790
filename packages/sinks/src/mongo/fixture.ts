import { randomUUID } from "node:crypto";
import { type Scope, scopeKey } from "@varstream/shared";
import { MongoClient } from "mongodb";
import type { SinkFixture } from "../fixture.ts";
import { MANIFESTS } from "./mongo-sink.ts";

const PORT = Number(process.env.MONGO_PORT ?? 37017);

/** mongosh's rendering of a value in a document: strings quoted, the rest as JSON. */
const shown = (value: unknown) =>
  typeof value === "string" ? `'${value.replaceAll("'", "\\'")}'` : JSON.stringify(value);

/** The test MongoDB wire server (MONGO_PORT, FerretDB), a database of its own per store. */
export const fixture: SinkFixture = {
  variants: {
    shared: { collection: "configs" },
    "collection per destination": {},
  },
  // The journal, the bulk write and the manifest are three requests: the cut falls in the last one.
  outage: { atomic: false },
  async open(options = {}) {
    const database = `vs_${randomUUID().slice(0, 8)}`;
    const layout = options.variant === "collection per destination" ? {} : { collection: "configs" };
    const direct = new MongoClient(`mongodb://127.0.0.1:${PORT}/`, { serverSelectionTimeoutMS: 5000 });
    const db = direct.db(database);
    const port = options.via ? await options.via(PORT) : PORT;
    const keysOf = (d: string) =>
      db.collection<{ _id: string; destination: string; key: string; value: unknown }>(layout.collection ?? d);
    const docs = (d: string) => keysOf(d).find({ destination: d }).sort({ key: 1 }).toArray();
    return {
      // One connection: FerretDB v1 stops answering concurrent updates of existing documents (measured).
      config: { uri: `mongodb://127.0.0.1:${port}/`, database, max_pool_size: 1, ...layout },
      view: {
        read: async (d) => Object.fromEntries((await docs(d)).map((doc) => [doc.key, String(doc.value ?? "")])),
        plant: async (d, key, value) =>
          void (await keysOf(d).replaceOne({ _id: `${d}|${key}` }, { destination: d, key, value }, { upsert: true })),
        manifestTask: async (scope: Scope) => {
          const found = await db
            .collection<{ _id: string; manifest?: string }>(MANIFESTS)
            .findOne({ _id: scopeKey(scope) });
          return found?.manifest === undefined
            ? undefined
            : (JSON.parse(found.manifest) as { task_id: string }).task_id;
        },
        // mongosh's output, as the README shows it (database varstream, collection configs)
        show: async (d) => {
          const lines = (await docs(d)).map((doc) => `  { key: ${shown(doc.key)}, value: ${shown(doc.value)} }`);
          return `$ mongosh varstream --quiet --eval 'db.configs.find({destination: "${d}"}, {_id: 0, key: 1, value: 1}).sort({key: 1})'\n[\n${lines.join(",\n")}\n]\n`;
        },
      },
      close: async () => {
        await db.dropDatabase().catch(() => undefined);
        await direct.close();
      },
    };
  },
};
