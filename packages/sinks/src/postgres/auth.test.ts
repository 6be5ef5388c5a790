import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyDesired } from "../apply.ts";
import { connectSink } from "../registry.ts";
import { testDeps as deps, desiredAt as desired, noRetry as once } from "../testing.ts";

/** The bundle fields a user of the store expects for credentials and TLS, against a real server. */

describe("postgres over TLS, and with a password", () => {
  const port = Number(process.env.PG_PORT ?? 35432);
  const ca = process.env.PG_TLS_CA ?? `/tmp/varstream-postgres/test-${port}/tls/ca.crt`;
  const admin = new pg.Pool({ host: "127.0.0.1", port, user: "postgres", database: "postgres" });
  const table = `tls_${randomUUID().replaceAll("-", "").slice(0, 10)}`;
  const base = { host: "127.0.0.1", port, database: "postgres", table };

  beforeAll(async () => {
    // Roles the server's pg_hba.conf treats specially (infra/postgres/postgres.sh).
    await admin.query(`DO $$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'varstream_tls') THEN CREATE ROLE varstream_tls LOGIN; END IF;
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'varstream_pw') THEN CREATE ROLE varstream_pw LOGIN; END IF;
    END $$`);
    await admin.query("ALTER ROLE varstream_pw PASSWORD 'pw-s3cret'");
    await admin.query("GRANT CREATE ON SCHEMA public TO varstream_tls, varstream_pw");
  });
  afterAll(() => admin.end());

  it("connects over TLS, verifying the server against ssl_ca; a role that needs TLS is refused without it", async () => {
    const sink = await connectSink(
      "postgres",
      "postgres",
      { ...base, user: "varstream_tls", ssl: true, ssl_ca: { file: ca } },
      deps,
    );
    expect(await applyDesired(sink, desired("postgres", "tls/app", { a: 1 }), once)).toMatchObject({
      outcome: "applied",
      set: 1,
    });
    await sink.close();
    const plain = await connectSink("postgres", "postgres", { ...base, user: "varstream_tls", ssl: false }, deps);
    const refused = await applyDesired(plain, desired("postgres", "tls/plain", { a: 1 }), once);
    expect(refused.error).toMatch(/no encryption|rejects connection/);
    await plain.close();
    const rows = await admin.query(`SELECT destination, key FROM ${table} ORDER BY destination`);
    expect(rows.rows).toEqual([{ destination: "tls/app", key: "a" }]);
  });

  it("logs in with a password from a secret reference, and fails cleanly on a wrong one", async () => {
    process.env.VS_TEST_PG_PASSWORD = "pw-s3cret";
    const pwTable = `${table}_pw`;
    const sink = await connectSink(
      "postgres",
      "postgres",
      { ...base, table: pwTable, user: "varstream_pw", password: { env: "VS_TEST_PG_PASSWORD" }, ssl: false },
      deps,
    );
    expect(await applyDesired(sink, desired("postgres", "pw/app", { a: 1 }), once)).toMatchObject({
      outcome: "applied",
    });
    await sink.close();
    const wrong = await connectSink(
      "postgres",
      "postgres",
      { ...base, table: pwTable, user: "varstream_pw", password: "wrong", ssl: false },
      deps,
    );
    const refused = await applyDesired(wrong, desired("postgres", "pw/wrong", { a: 1 }), once);
    expect(refused.error).toMatch(/password authentication failed for user "varstream_pw"/);
    await wrong.close();
  });
});
