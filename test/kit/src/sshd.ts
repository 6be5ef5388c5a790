import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./servers.ts";
import { waitFor } from "./wait.ts";

/**
 * Debian's openssh-server on a loopback port of its own, with a host key and a client key made here
 * (key login as the current user only). `remote` is an empty folder to write into.
 */
export class Sshd {
  readonly port: number;
  readonly dir: string;
  readonly remote: string;
  /** the client's private key, PEM */
  readonly clientKey: string;
  /** the host key as `SHA256:<base64>`, the way ssh-keygen -lf prints it */
  readonly hostKeySha256: string;
  private readonly process: ChildProcess;

  private constructor(fields: Omit<Sshd, "stop">, process: ChildProcess) {
    this.port = fields.port;
    this.dir = fields.dir;
    this.remote = fields.remote;
    this.clientKey = fields.clientKey;
    this.hostKeySha256 = fields.hostKeySha256;
    this.process = process;
  }

  static async start(): Promise<Sshd> {
    const port = await freePort();
    const dir = await mkdtemp(join(tmpdir(), "varstream-sshd-"));
    const remote = join(dir, "remote");
    mkdirSync(remote);
    mkdirSync("/run/sshd", { recursive: true });
    for (const name of ["host_key", "client_key"]) {
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, name)]);
    }
    await writeFile(join(dir, "authorized_keys"), readFileSync(join(dir, "client_key.pub")));
    const hostPub = readFileSync(join(dir, "host_key.pub"), "utf8").split(" ")[1]!;
    const digest = createHash("sha256").update(Buffer.from(hostPub, "base64")).digest("base64");
    await writeFile(
      join(dir, "sshd_config"),
      [
        `Port ${port}`,
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
    const child = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", join(dir, "sshd_config")], { stdio: "ignore" });
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          const socket = createConnection(port, "127.0.0.1", () => {
            socket.end();
            resolve(true);
          }).on("error", () => resolve(false));
        }),
      { what: `sshd listening on ${port}`, timeoutMs: 10_000 },
    );
    return new Sshd(
      {
        port,
        dir,
        remote,
        clientKey: readFileSync(join(dir, "client_key"), "utf8"),
        hostKeySha256: `SHA256:${digest.replace(/=+$/, "")}`,
      },
      child,
    );
  }

  stop(): void {
    this.process.kill();
  }
}
