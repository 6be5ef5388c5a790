import { randomUUID } from "node:crypto";
import { canonicalText, type FlatValue, type Scope, scopeKey } from "@varstream/shared";
import zookeeper, { type Client, type Exception } from "node-zookeeper-client";
import type { SinkFixture } from "../fixture.ts";

const PORT = Number(process.env.ZK_PORT ?? 32181);

const call = <T>(fn: (done: (err: Error | Exception | null, value: T) => void) => void) =>
  new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));

/** Every leaf znode under `path`, with its data, depth first in name order. */
async function leaves(client: Client, path: string): Promise<[string, string][]> {
  const children = await call<string[]>((done) => client.getChildren(path, done)).catch((err: { name?: string }) => {
    if (err.name === "NO_NODE") return [];
    throw err;
  });
  if (children.length === 0) {
    const data = await call<Buffer | undefined>((done) => client.getData(path, done)).catch(() => undefined);
    return data === undefined ? [] : [[path, (data ?? Buffer.alloc(0)).toString("utf8")]];
  }
  const out: [string, string][] = [];
  for (const child of children.sort()) out.push(...(await leaves(client, `${path}/${child}`)));
  return out;
}

/** The test ZooKeeper (ZK_PORT), a root znode of its own per store. */
export const fixture: SinkFixture = {
  variants: { text: { encoding: "text" }, json: { encoding: "json" } },
  outage: { atomic: true },
  async open(options = {}) {
    const root = `/vs-${randomUUID().slice(0, 8)}`;
    const client = zookeeper.createClient(`127.0.0.1:${PORT}`);
    await new Promise<void>((resolve) => {
      client.once("connected", () => resolve());
      client.connect();
    });
    const port = options.via ? await options.via(PORT) : PORT;
    const encoding = options.variant ?? "text";
    // A leaf without data is taken for a parent znode the sink created: the tests write no empty values.
    const values = async (d: string) =>
      (await leaves(client, `${root}/${d}`))
        .filter(([, data]) => data !== "")
        .map(([path, data]): [string, string] => [
          path.slice(`${root}/${d}/`.length).replaceAll("/", "."),
          encoding === "json" ? canonicalText(JSON.parse(data) as FlatValue) : data,
        ]);
    return {
      config: { connect: `127.0.0.1:${port}`, encoding, root },
      view: {
        read: async (d) => Object.fromEntries(await values(d)),
        plant: async (d, k, v) => {
          const path = `${root}/${d}/${k.replaceAll(".", "/")}`;
          const data = encoding === "json" ? JSON.stringify(v) : v;
          await call<string>((done) => client.mkdirp(path, Buffer.from(data), done));
        },
        manifestTask: async (scope: Scope) => {
          const path = `${root}/__varstream__/${encodeURIComponent(scopeKey(scope))}`;
          const data = await call<Buffer>((done) => client.getData(path, done)).catch(() => undefined);
          return data === undefined ? undefined : (JSON.parse(data.toString("utf8")) as { task_id: string }).task_id;
        },
        // every znode under the destination and its data, as the README shows it with root `/config`
        show: async (d) => {
          const lines = (await leaves(client, `${root}/${d}`)).map(
            ([path, data]) => `/config${path.slice(root.length)} = ${data}`,
          );
          return `${lines.join("\n")}\n`;
        },
      },
      close: async () => client.close(),
    };
  },
};
