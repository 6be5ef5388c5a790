import { randomUUID } from "node:crypto";
import { type Scope, scopeKey } from "@varstream/shared";
import { Etcd3 } from "etcd3";
import type { SinkFixture } from "../fixture.ts";

const PORT = Number(process.env.ETCD_PORT ?? 32379);

/** The test etcd (ETCD_PORT), a key prefix of its own per store. */
export const fixture: SinkFixture = {
  // A 300-key apply is split into parts: the cut falls between two of them.
  outage: { atomic: false },
  async open(options = {}) {
    const prefix = `vs-${randomUUID().slice(0, 8)}/`;
    const direct = new Etcd3({ hosts: [`http://127.0.0.1:${PORT}`] });
    const port = options.via ? await options.via(PORT) : PORT;
    const under = async (d: string) => await direct.getAll().prefix(`${prefix}${d}/`).strings();
    return {
      config: { hosts: [`http://127.0.0.1:${port}`], prefix },
      view: {
        read: async (d) =>
          Object.fromEntries(
            Object.entries(await under(d)).map(([k, v]) => [k.slice(`${prefix}${d}/`.length).replaceAll("/", "."), v]),
          ),
        plant: async (d, k, v) => void (await direct.put(`${prefix}${d}/${k.replaceAll(".", "/")}`).value(v)),
        manifestTask: async (scope: Scope) => {
          const manifest = await direct.get(`${prefix}__varstream__/${scopeKey(scope)}`).json();
          return (manifest as { task_id: string } | null)?.task_id;
        },
        // etcdctl's output, as the README shows it with prefix `config/`
        show: async (d) => {
          const lines = Object.entries(await under(d)).flatMap(([k, v]) => [`config/${k.slice(prefix.length)}`, v]);
          return `$ etcdctl get --prefix config/${d}/\n${lines.join("\n")}\n`;
        },
      },
      close: async () => direct.close(),
    };
  },
};
