import { createHash } from "node:crypto";
import { posix } from "node:path";
import { Client, type ConnectConfig, type SFTPWrapper } from "ssh2";
import { type FileStore, isTempOf, tempName } from "../file/store.ts";

export interface SshTarget {
  host: string;
  port: number;
  username: string;
  privateKey?: string;
  password?: string;
  /** the server's host key as `SHA256:<base64>`; when given, any other key is refused */
  hostKeySha256?: string;
  /** the remote folder */
  root: string;
}

/** A file store on a remote host over SFTP; commands run over the same SSH connection. */
export class SftpStore implements FileStore {
  readonly where: string;
  private readonly target: SshTarget;
  private session: Promise<{ client: Client; sftp: SFTPWrapper }> | undefined;

  constructor(target: SshTarget) {
    this.target = target;
    this.where = `${target.username}@${target.host}:${target.port}:${target.root}`;
  }

  private connect(): Promise<{ client: Client; sftp: SFTPWrapper }> {
    this.session ??= new Promise((resolve, reject) => {
      const client = new Client();
      const config: ConnectConfig = {
        host: this.target.host,
        port: this.target.port,
        username: this.target.username,
        readyTimeout: 5000,
        ...(this.target.privateKey ? { privateKey: this.target.privateKey } : {}),
        ...(this.target.password ? { password: this.target.password } : {}),
        ...(this.target.hostKeySha256
          ? {
              hostVerifier: (key: Buffer) =>
                `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}` ===
                this.target.hostKeySha256,
            }
          : {}),
      };
      client
        .on("ready", () => client.sftp((err, sftp) => (err ? reject(err) : resolve({ client, sftp }))))
        .on("error", (err) => {
          this.session = undefined;
          reject(err);
        })
        .on("close", () => {
          this.session = undefined;
        })
        .connect(config);
    });
    return this.session;
  }

  private full(path: string): string {
    return posix.join(this.target.root, path);
  }

  async read(path: string): Promise<string | undefined> {
    const { sftp } = await this.connect();
    return new Promise((resolve, reject) =>
      sftp.readFile(this.full(path), "utf8", (err, data) => {
        if (err) return (err as { code?: number }).code === 2 ? resolve(undefined) : reject(err);
        resolve(String(data));
      }),
    );
  }

  private async mkdirs(dir: string): Promise<void> {
    const { sftp } = await this.connect();
    const parts = dir.split("/").filter(Boolean);
    let current = dir.startsWith("/") ? "" : ".";
    for (const part of parts) {
      current = `${current}/${part}`;
      await new Promise<void>((resolve) => sftp.mkdir(current, () => resolve())); // exists: fine
    }
  }

  async write(path: string, text: string, validate?: (tempPath: string) => Promise<void>): Promise<void> {
    const { sftp } = await this.connect();
    const target = this.full(path);
    await this.mkdirs(posix.dirname(target));
    const tmp = tempName(target);
    const unlink = () => new Promise<void>((resolve) => sftp.unlink(tmp, () => resolve()));
    try {
      await new Promise<void>((resolve, reject) =>
        sftp.writeFile(tmp, text, { mode: 0o644 }, (err) => (err ? reject(err) : resolve())),
      );
      await validate?.(tmp);
      // posix-rename replaces the target atomically (plain SFTP rename refuses an existing target).
      await new Promise<void>((resolve, reject) =>
        sftp.ext_openssh_rename(tmp, target, (err) => (err ? reject(err) : resolve())),
      );
    } catch (err) {
      await unlink();
      throw err;
    }
  }

  async remove(path: string): Promise<void> {
    const { sftp } = await this.connect();
    await new Promise<void>((resolve) => sftp.unlink(this.full(path), () => resolve()));
  }

  async cleanup(path: string): Promise<void> {
    const { sftp } = await this.connect();
    const target = this.full(path);
    const dir = posix.dirname(target);
    const names = await new Promise<string[]>((resolve) =>
      sftp.readdir(dir, (err, list) => resolve(err ? [] : list.map((entry) => entry.filename))),
    );
    for (const name of names.filter((n) => isTempOf(n, posix.basename(target)))) {
      await new Promise<void>((resolve) => sftp.unlink(posix.join(dir, name), () => resolve()));
    }
  }

  /** Runs a command on the host; resolves with its output, rejects with its stderr when it fails. */
  async exec(command: string): Promise<string> {
    const { client } = await this.connect();
    return new Promise((resolve, reject) =>
      client.exec(command, (err, stream) => {
        if (err) return reject(err);
        let out = "";
        let errOut = "";
        stream.on("data", (d: Buffer) => {
          out += d.toString();
        });
        stream.stderr.on("data", (d: Buffer) => {
          errOut += d.toString();
        });
        stream.on("close", (code: number | null) => {
          if (code === 0) resolve(out);
          else reject(new Error(`\`${command}\` exited ${code}: ${(errOut || out).trim().slice(0, 500)}`));
        });
      }),
    );
  }

  async close(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    (await session?.catch(() => undefined))?.client.end();
  }
}

/** Quotes a path for a POSIX shell. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
