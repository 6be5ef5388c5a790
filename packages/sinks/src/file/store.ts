import { randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname } from "node:path";

/** The temp file a write of `target` goes through: beside it, so the rename stays on one filesystem. */
export function tempName(target: string): string {
  return `${target}.${randomUUID()}.tmp`;
}

/** Whether `name` (a bare file name) is a temp file of a write of the file named `base`. */
export function isTempOf(name: string, base: string): boolean {
  return name.startsWith(`${base}.`) && name.endsWith(".tmp") && name.length === base.length + 41;
}

/**
 * Where a file sink keeps its files: this machine's disk or a remote host over SFTP. Paths are
 * relative to the sink's folder, `/`-separated.
 */
export interface FileStore {
  /** a human-readable place, for errors and docs */
  readonly where: string;
  /** the file's text, or undefined when there is none */
  read(path: string): Promise<string | undefined>;
  /**
   * Writes atomically: a temp file beside the target, `validate` on it (a throw keeps the old file and
   * removes the temp), then a rename over the target. `mode` is the file's (0644; 0600 for one holding secrets).
   */
  write(path: string, text: string, validate?: (tempPath: string) => Promise<void>, mode?: number): Promise<void>;
  remove(path: string): Promise<void>;
  /** Removes temp files a write of `path` left behind when it was cut off (a crash, a lost connection). */
  cleanup(path: string): Promise<void>;
  close(): Promise<void>;
}

/** The local disk under `root`. */
export class LocalStore implements FileStore {
  readonly where: string;
  private readonly root: string;

  constructor(root: string) {
    this.root = root;
    this.where = root;
  }

  /** Paths are relative to the folder; an absolute one (a sink allowing them) is itself. */
  private full(path: string): string {
    return path.startsWith("/") ? path : `${this.root}/${path}`;
  }

  async read(path: string): Promise<string | undefined> {
    try {
      return await readFile(this.full(path), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  async write(path: string, text: string, validate?: (tempPath: string) => Promise<void>, mode = 0o644): Promise<void> {
    const target = this.full(path);
    await mkdir(dirname(target), { recursive: true });
    const tmp = tempName(target);
    try {
      await writeFile(tmp, text, { mode });
      await validate?.(tmp);
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async remove(path: string): Promise<void> {
    await rm(this.full(path), { force: true });
  }

  async cleanup(path: string): Promise<void> {
    const target = this.full(path);
    const names = await readdir(dirname(target)).catch(() => [] as string[]);
    const leftovers = names.filter((name) => isTempOf(name, basename(target)));
    await Promise.all(leftovers.map((name) => rm(`${dirname(target)}/${name}`, { force: true })));
  }

  async close(): Promise<void> {}
}
