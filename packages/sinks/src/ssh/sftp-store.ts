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

type Done<T> = (err: Error | null | undefined, value?: T) => void;

interface Session {
  client: Client;
  sftp: SFTPWrapper;
  /** rejects when the connection is lost: SFTP requests in flight then never get an answer */
  lost: Promise<never>;
}

/** A file store on a remote host over SFTP; commands run over the same SSH connection. */
export class SftpStore implements FileStore {
  readonly where: string;
  private readonly target: SshTarget;
  private session: Promise<Session> | undefined;

  constructor(target: SshTarget) {
    this.target = target;
    this.where = `${target.username}@${target.host}:${target.port}:${target.root}`;
  }

  private connect(): Promise<Session> {
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
      let markLost: (err: Error) => void = () => undefined;
      const lost = new Promise<never>((_, fail) => {
        markLost = fail;
      });
      lost.catch(() => undefined);
      const gone = (err: Error) => {
        this.session = undefined;
        markLost(err);
        reject(err);
      };
      client
        .on("ready", () =>
          client.sftp((err, sftp) => {
            if (err) return reject(err);
            sftp.on("error", gone);
            resolve({ client, sftp, lost });
          }),
        )
        .on("error", gone)
        .on("close", () => gone(new Error(`ssh connection to ${this.where} lost`)))
        .connect(config);
    });
    return this.session;
  }

  /** One SFTP request, failing (not hanging) if the connection goes away before the answer. */
  private async call<T = void>(request: (sftp: SFTPWrapper, done: Done<T>) => void): Promise<T> {
    const { sftp, lost } = await this.connect();
    const answer = new Promise<T>((resolve, reject) =>
      request(sftp, (err, value) => (err ? reject(err) : resolve(value as T))),
    );
    return Promise.race([answer, lost]);
  }

  /** Paths are relative to the remote folder; an absolute one (a sink allowing them) is itself. */
  private full(path: string): string {
    return path.startsWith("/") ? posix.normalize(path) : posix.join(this.target.root, path);
  }

  async read(path: string): Promise<string | undefined> {
    return this.call<string | undefined>((sftp, done) =>
      sftp.readFile(this.full(path), "utf8", (err, data) => {
        if (err) return (err as { code?: number }).code === 2 ? done(null, undefined) : done(err);
        done(null, String(data));
      }),
    );
  }

  private async mkdirs(dir: string): Promise<void> {
    const parts = dir.split("/").filter(Boolean);
    let current = dir.startsWith("/") ? "" : ".";
    for (const part of parts) {
      current = `${current}/${part}`;
      const path = current;
      await this.call((sftp, done) => sftp.mkdir(path, () => done(null))); // exists: fine
    }
  }

  async write(path: string, text: string, validate?: (tempPath: string) => Promise<void>, mode = 0o644): Promise<void> {
    const target = this.full(path);
    await this.mkdirs(posix.dirname(target));
    const tmp = tempName(target);
    try {
      await this.call((sftp, done) => sftp.writeFile(tmp, text, { mode }, done));
      await validate?.(tmp);
      // posix-rename replaces the target atomically (plain SFTP rename refuses an existing target).
      await this.call((sftp, done) => sftp.ext_openssh_rename(tmp, target, done));
    } catch (err) {
      // A lost connection leaves the temp file: cleanup() removes it at the next restore.
      await this.call((sftp, done) => sftp.unlink(tmp, () => done(null))).catch(() => undefined);
      throw err;
    }
  }

  async remove(path: string): Promise<void> {
    await this.call((sftp, done) => sftp.unlink(this.full(path), () => done(null)));
  }

  async cleanup(path: string): Promise<void> {
    const target = this.full(path);
    const dir = posix.dirname(target);
    const names = await this.call<string[]>((sftp, done) =>
      sftp.readdir(dir, (err, list) => done(null, err ? [] : list.map((entry) => entry.filename))),
    );
    for (const name of names.filter((n) => isTempOf(n, posix.basename(target)))) {
      await this.call((sftp, done) => sftp.unlink(posix.join(dir, name), () => done(null)));
    }
  }

  /** Sets a remote file's permission bits exactly (a mode given at create is subject to the server's umask). */
  async chmod(path: string, mode: number): Promise<void> {
    await this.call((sftp, done) => sftp.chmod(path, mode, done));
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
