import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { type KeySet, type Scope, Secrets } from "@varstream/shared";
import { desiredOf, makeKeySet, Sshd } from "@varstream/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyDesired } from "../apply.ts";
import { connectSink } from "../registry.ts";
import { noRetry as options } from "../testing.ts";

const keySet = (scope: Scope, taskId: string, keys: KeySet["keys"]) => makeKeySet(scope, keys, { task_id: taskId });
const desired = desiredOf;

describe("ssh sink against a real OpenSSH server", () => {
  let sshd: Sshd;
  let dir: string;
  let remote: string;

  beforeAll(async () => {
    sshd = await Sshd.start();
    ({ dir, remote } = sshd);
  });

  afterAll(() => {
    sshd?.stop();
  });

  const config = () => ({
    host: "127.0.0.1",
    port: sshd.port,
    username: "root",
    private_key: sshd.clientKey,
    host_key_sha256: sshd.hostKeySha256,
    path: remote,
    format: "env",
  });
  const sink = (extra: Record<string, string | boolean> = {}) =>
    connectSink("ssh", "ssh", { ...config(), ...extra }, { secrets: new Secrets() });
  const scope = (destination: string): Scope => ({ datasource: "ssh", destination, repo: "acme/c", file: "app.yaml" });

  it("writes the remote .env exactly as its README says, and prunes stale keys", async () => {
    const s = await sink({ reload_command: `touch ${join(dir, "reloaded")}` });
    const first = await applyDesired(
      s,
      desired(keySet(scope("app"), "t1", { DB_HOST: "db.internal", DB_PORT: 5432, GREETING: "hello world" })),
      options,
    );
    expect(first).toMatchObject({ outcome: "applied", set: 3 });
    expect(await readFile(join(remote, "app.env"), "utf8")).toBe(
      "DB_HOST=db.internal\nDB_PORT=5432\nGREETING='hello world'\n",
    );
    expect(readFileSync(join(dir, "reloaded"), "utf8")).toBe("");
    const second = await applyDesired(
      s,
      desired(keySet(scope("app"), "t2", { DB_HOST: "db.internal", DB_PORT: 6432 })),
      options,
    );
    expect(second).toMatchObject({ set: 1, unchanged: 1, pruned: 1 });
    expect(await readFile(join(remote, "app.env"), "utf8")).toBe("DB_HOST=db.internal\nDB_PORT=6432\n");
    const manifest = JSON.parse(await readFile(join(remote, ".varstream", "app.manifest.json"), "utf8"));
    expect(Object.keys(manifest.scopes)).toEqual(["ssh|app|acme/c:app.yaml"]);
    await s.close();
  });

  it("a failed validate_command leaves the old file in place", async () => {
    const s = await sink({ validate_command: "grep -q '^DB_HOST=' {file}" });
    await applyDesired(s, desired(keySet(scope("guarded"), "t1", { DB_HOST: "a" })), options);
    const refused = await applyDesired(s, desired(keySet(scope("guarded"), "t2", { OTHER: "b" })), options);
    expect(refused).toMatchObject({ outcome: "failed", rolled_back: true });
    expect(refused.error).toMatch(/validate_command refused the new file/);
    expect(await readFile(join(remote, "guarded.env"), "utf8")).toBe("DB_HOST=a\n");
    await s.close();
  });

  it("refuses, with APP_ENV=production, a connection whose host key is not pinned", async () => {
    const { host_key_sha256: _pinned, ...unpinned } = config();
    await expect(connectSink("ssh", "ssh", unpinned, { secrets: new Secrets(), appEnv: "production" })).rejects.toThrow(
      /needs host_key_sha256/,
    );
  });

  it("refuses a server whose host key is not the configured one", async () => {
    const s = await sink({ host_key_sha256: `SHA256:${"A".repeat(43)}` });
    const report = await applyDesired(
      s,
      desired(keySet(scope(`x-${randomUUID().slice(0, 4)}`), "t1", { A: "1" })),
      options,
    );
    expect(report.outcome).toBe("failed");
    await s.close();
  });

  it("gives the new file file_mode and owner before it replaces the old one, and keeps the old one when chown fails", async () => {
    const s = await sink({ file_mode: "0640", owner: "nobody:nogroup" });
    expect(await applyDesired(s, desired(keySet(scope("owned"), "t1", { A: 1 })), options)).toMatchObject({
      outcome: "applied",
    });
    const st = await stat(join(remote, "owned.env"));
    expect((st.mode & 0o777).toString(8)).toBe("640");
    expect(st.uid).toBe(Number(execFileSync("id", ["-u", "nobody"], { encoding: "utf8" })));
    await s.close();

    const wrong = await sink({ owner: "no-such-user" });
    const refused = await applyDesired(wrong, desired(keySet(scope("owned"), "t2", { A: 2 })), options);
    expect(refused).toMatchObject({ outcome: "failed", code: "SINK_REFUSED" });
    expect(refused.error).toMatch(/chown no-such-user/);
    expect(await readFile(join(remote, "owned.env"), "utf8")).toBe("A=1\n");
    expect((await readdir(remote)).filter((n) => n.endsWith(".tmp"))).toEqual([]);
    await wrong.close();
  });

  it("writes an absolute destination as that file when absolute_paths is on (varTrack's /etc/app/{env}.env), and refuses it otherwise", async () => {
    const target = join(dir, "abs-target", "production.env");
    const on = await sink({ absolute_paths: true });
    const report = await applyDesired(on, desired(keySet(scope(target), "t1", { A: 1 })), options);
    expect(report).toMatchObject({ outcome: "applied", set: 1 });
    expect(await readFile(target, "utf8")).toBe("A=1\n"); // no second .env
    expect(
      (await readdir(join(remote, ".varstream", "abs"), { recursive: true })).some((f) =>
        f.endsWith("production.env.manifest.json"),
      ),
    ).toBe(true);
    await on.close();
    const off = await sink();
    const refused = await applyDesired(off, desired(keySet(scope(target), "t2", { A: 2 })), options);
    expect(refused).toMatchObject({ outcome: "failed", code: "SINK_REFUSED" });
    expect(await readFile(target, "utf8")).toBe("A=1\n");
    await off.close();
  });
});
