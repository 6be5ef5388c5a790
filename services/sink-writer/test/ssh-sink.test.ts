import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, type KeySet, type Scope, Secrets } from "@varstream/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyDesired } from "../src/apply/apply.ts";
import { connectSshSink } from "../src/sinks/ssh/ssh-sink.ts";

const logger = createLogger("test", "silent");
const options = { maxRetries: 0, retryBaseMs: 10, logger };
const PORT = 30000 + Math.floor(Math.random() * 2000);

function keySet(scope: Scope, taskId: string, keys: KeySet["keys"]): KeySet {
  return {
    task_id: taskId,
    scope,
    repo: scope.repo,
    ref: "refs/heads/main",
    commit: `c-${taskId}`,
    env: "default",
    keys,
    labels: {},
    prune: { enabled: true, protection: [] },
    sync_mode: "mirror",
    produced_at: new Date().toISOString(),
  };
}
const desired = (ks: KeySet) => ({ scope: ks.scope, taskId: ks.task_id, commit: ks.commit, keySet: ks });

/** Debian's openssh-server on a loopback port, with a host key and a client key made here. */
describe("ssh sink against a real OpenSSH server", () => {
  let dir: string;
  let remote: string;
  let sshd: ChildProcess;
  let clientKey: string;
  let hostKeySha256: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "varstream-sshd-"));
    remote = join(dir, "remote");
    mkdirSync(remote);
    mkdirSync("/run/sshd", { recursive: true });
    for (const name of ["host_key", "client_key"]) {
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, name)]);
    }
    clientKey = readFileSync(join(dir, "client_key"), "utf8");
    await writeFile(join(dir, "authorized_keys"), readFileSync(join(dir, "client_key.pub")));
    const hostPub = readFileSync(join(dir, "host_key.pub"), "utf8").split(" ")[1]!;
    hostKeySha256 = `SHA256:${createHash("sha256").update(Buffer.from(hostPub, "base64")).digest("base64").replace(/=+$/, "")}`;
    await writeFile(
      join(dir, "sshd_config"),
      [
        `Port ${PORT}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${join(dir, "host_key")}`,
        `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
        `PidFile ${join(dir, "sshd.pid")}`,
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password",
        "StrictModes no",
        "UsePAM no",
        "Subsystem sftp internal-sftp",
      ].join("\n"),
    );
    sshd = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", join(dir, "sshd_config")], { stdio: "ignore" });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const open = await new Promise<boolean>((resolve) => {
        const socket = createConnection(PORT, "127.0.0.1", () => {
          socket.end();
          resolve(true);
        }).on("error", () => resolve(false));
      });
      if (open) break;
      if (Date.now() > deadline) throw new Error("sshd did not listen");
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  afterAll(() => {
    sshd?.kill();
  });

  const sink = (extra: Record<string, string> = {}) =>
    connectSshSink(
      "ssh",
      {
        host: "127.0.0.1",
        port: PORT,
        username: "root",
        private_key: clientKey,
        host_key_sha256: hostKeySha256,
        path: remote,
        format: "env",
        ...extra,
      },
      new Secrets(),
    );
  const scope = (destination: string): Scope => ({ datasource: "ssh", destination, repo: "acme/c", file: "app.yaml" });

  it("writes the remote .env exactly as docs/sinks/ssh.md says, and prunes stale keys", async () => {
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
});
