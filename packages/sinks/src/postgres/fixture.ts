import { randomUUID } from "node:crypto";
import { type FlatValue, type Scope, scopeKey } from "@varstream/shared";
import pg from "pg";
import type { SinkFixture } from "../fixture.ts";

const PORT = Number(process.env.PG_PORT ?? 35432);

/** The test PostgreSQL (PG_PORT), a table of its own per store. */
export const fixture: SinkFixture = {
  outage: { atomic: true },
  async open(options = {}) {
    const table = `t_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
    const direct = new pg.Pool({ host: "127.0.0.1", port: PORT, user: "postgres", database: "postgres" });
    const port = options.via ? await options.via(PORT) : PORT;
    return {
      config: { host: "127.0.0.1", port, database: "postgres", user: "postgres", table },
      view: {
        read: async (d) => {
          const res = await direct
            .query<{ key: string; value: FlatValue }>(`SELECT key, value FROM ${table} WHERE destination = $1`, [d])
            .catch(() => ({ rows: [] }));
          return Object.fromEntries(res.rows.map((r) => [r.key, String(r.value)]));
        },
        plant: async (d, k, v) => {
          await direct.query(
            `INSERT INTO ${table} (destination, key, value, scope, commit) VALUES ($1, $2, $3, 'by-hand', '-')`,
            [d, k, JSON.stringify(v)],
          );
        },
        manifestTask: async (scope: Scope) => {
          const res = await direct.query<{ task: string }>(
            `SELECT manifest->>'task_id' AS task FROM ${table}_manifests WHERE scope = $1`,
            [scopeKey(scope)],
          );
          return res.rows[0]?.task;
        },
        // psql's unaligned output, as the README shows it (table varstream_config)
        show: async (d) => {
          const rows = await direct.query<{ line: string }>(
            `SELECT concat_ws(' | ', destination, key, value::text, scope, commit) AS line FROM ${table} WHERE destination = $1 ORDER BY key`,
            [d],
          );
          const query = "SELECT destination, key, value, scope, commit FROM varstream_config ORDER BY key";
          return `$ psql -At -F ' | ' -c "${query}"\n${rows.rows.map((r) => `${r.line}\n`).join("")}`;
        },
      },
      close: () => direct.end(),
    };
  },
};
