import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SecretError, SecretManagers, Secrets } from "../src/index.ts";

describe("secrets", () => {
  it("resolves literals, env and file references, and refuses what is missing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "secrets-"));
    await writeFile(join(dir, "token"), "from-file\n");
    const secrets = new Secrets({ env: { TOKEN: "from-env" } });
    expect(await secrets.resolve("literal")).toBe("literal");
    expect(await secrets.resolve({ env: "TOKEN" })).toBe("from-env");
    expect(await secrets.resolve({ file: join(dir, "token") })).toBe("from-file");
    await expect(secrets.resolve({ env: "NOPE" })).rejects.toThrow(SecretError);
    await expect(secrets.resolve({ file: join(dir, "nope") })).rejects.toThrow(/cannot be read: ENOENT/);
    await expect(secrets.resolve({ ref: { path: "app", key: "k" } })).rejects.toThrow(/needs a vault secret manager/);
  });

  it("reads @secret() references written as text", async () => {
    const secrets = new Secrets({ env: { DB_TOKEN: "t0ken" } });
    expect(await secrets.resolveText("env:DB_TOKEN")).toBe("t0ken");
    await expect(secrets.resolveText("plain value")).rejects.toThrow(/must be a reference/);
    await expect(secrets.resolveText("vault:nokey")).rejects.toThrow(/path#key/);
  });

  it("caches for the TTL", async () => {
    const env: Record<string, string> = { A: "1" };
    const secrets = new Secrets({ env, ttlMs: 60_000 });
    expect(await secrets.resolve({ env: "A" })).toBe("1");
    env.A = "2";
    expect(await secrets.resolve({ env: "A" })).toBe("1");
    expect(await new Secrets({ env, ttlMs: 0 }).resolve({ env: "A" })).toBe("2");
  });
});

/**
 * Vault is not packaged for this machine's registries, so these tests talk HTTP to a small server
 * answering the three documented endpoints varstream uses (KV v2 read, KV v1 read, AppRole login).
 */
describe("vault secret manager (KV v1/v2, token and AppRole)", () => {
  let server: Server;
  let address: string;
  const seen: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers["x-vault-token"] ?? ""}`);
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (req.method === "POST" && req.url === "/v1/auth/approle/login") {
        let body = "";
        req.on("data", (c) => {
          body += c;
        });
        req.on("end", () => {
          const { role_id, secret_id } = JSON.parse(body) as Record<string, string>;
          if (role_id === "role" && secret_id === "sid")
            send(200, { auth: { client_token: "approle-token", lease_duration: 600 } });
          else send(400, { errors: ["invalid role or secret ID"] });
        });
        return;
      }
      const token = req.headers["x-vault-token"];
      if (token !== "root-token" && token !== "approle-token") return send(403, { errors: ["permission denied"] });
      if (req.url === "/v1/secret/data/apps/checkout")
        return send(200, { data: { data: { db_password: "kv2-pass" } } });
      if (req.url === "/v1/kv/apps/checkout") return send(200, { data: { db_password: "kv1-pass" } });
      send(404, { errors: [] });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("reads KV v2 with a token and KV v1 with AppRole", async () => {
    const v2 = new Secrets({ managers: SecretManagers.parse({ vault: { address, token: "root-token" } }) });
    expect(await v2.resolve({ ref: { path: "apps/checkout", key: "db_password" } })).toBe("kv2-pass");
    const v1 = new Secrets({
      managers: SecretManagers.parse({
        vault: { address, mount: "kv", kv_version: 1, approle: { role_id: "role", secret_id: { env: "SID" } } },
      }),
      env: { SID: "sid" },
    });
    expect(await v1.resolveText("vault:apps/checkout#db_password")).toBe("kv1-pass");
    expect(seen).toContain("GET /v1/kv/apps/checkout approle-token");
  });

  it("fails clearly for a missing key, a denied token and an unreachable vault", async () => {
    const denied = new Secrets({ managers: SecretManagers.parse({ vault: { address, token: "wrong" } }) });
    await expect(denied.resolve({ ref: { path: "apps/checkout", key: "x" } })).rejects.toThrow(/vault answered 403/);
    const ok = new Secrets({ managers: SecretManagers.parse({ vault: { address, token: "root-token" } }) });
    await expect(ok.resolve({ ref: { path: "apps/checkout", key: "nope" } })).rejects.toThrow(/has no key nope/);
    const down = new Secrets({
      managers: SecretManagers.parse({ vault: { address: "http://127.0.0.1:1", token: "t" } }),
    });
    await expect(down.resolve({ ref: { path: "a", key: "b" } })).rejects.toThrow(/unreachable/);
  });
});
