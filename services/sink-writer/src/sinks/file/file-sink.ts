import { randomUUID } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { canonicalText, type FileSinkConfig, type FlatValue, type Scope } from "@varstream/shared";
import type { ApplyPlan, Manifest, Sink } from "../sink.ts";
import { type FileFormat, FORMATS } from "./formats.ts";

type Data = Record<string, FlatValue>;

interface ManifestFile {
  destination: string;
  scopes: Record<string, Manifest>;
}

/** Writes `text` to `path` atomically: a temp file in the same folder, then rename. */
async function atomicWrite(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${randomUUID()}.tmp`;
  try {
    await writeFile(tmp, text, { mode: 0o644 });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/**
 * The embedded default sink (SPEC §5.4): one file per destination, `<path>/<destination>.<format>`,
 * holding the keys of every scope that feeds it plus any key written by others (json and yaml as the
 * tree the keys came from, env and properties flat; see formats.ts and docs/sinks/file.md).
 * Manifests live in `<path>/.varstream/<destination>.manifest.json`. Each write is temp file + rename,
 * data first and manifest second, so a crash in between is repaired by the redelivered apply.
 */
export class FileSink implements Sink {
  readonly kind = "file";
  readonly name: string;
  private readonly root: string;
  private readonly format: FileFormat;
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(name: string, config: FileSinkConfig) {
    this.name = name;
    this.root = resolve(config.path);
    this.format = FORMATS[config.format];
  }

  /** A destination is a relative path inside the sink's folder; `..` and absolute paths are refused. */
  private paths(destination: string): { data: string; manifest: string } {
    const parts = destination.split("/");
    if (parts.some((p) => p === "" || p === "." || p === "..") || destination.includes("\0")) {
      throw new Error(`destination ${JSON.stringify(destination)} is not a safe relative path`);
    }
    const data = join(this.root, `${destination}.${this.format.ext}`);
    if (!data.startsWith(this.root + sep)) throw new Error(`destination ${destination} escapes the sink folder`);
    return { data, manifest: join(this.root, ".varstream", `${destination}.manifest.json`) };
  }

  describe(destination: string): string {
    return this.paths(destination).data;
  }

  private async manifests(destination: string): Promise<ManifestFile> {
    const text = await readOptional(this.paths(destination).manifest);
    return text === undefined ? { destination, scopes: {} } : (JSON.parse(text) as ManifestFile);
  }

  async readManifest(scope: Scope, scopeKey: string): Promise<Manifest | null> {
    return (await this.manifests(scope.destination)).scopes[scopeKey] ?? null;
  }

  async readValues(destination: string, keys: string[]): Promise<Record<string, string | undefined>> {
    const text = await readOptional(this.paths(destination).data);
    const data: Data = text === undefined ? {} : this.format.read(text);
    return Object.fromEntries(keys.map((k) => [k, k in data ? canonicalText(data[k]!) : undefined]));
  }

  apply(plan: ApplyPlan): Promise<void> {
    const previous = this.locks.get(plan.destination) ?? Promise.resolve();
    const run = previous.then(() => this.applyLocked(plan));
    const tail = run.catch(() => undefined);
    this.locks.set(plan.destination, tail);
    void tail.then(() => {
      if (this.locks.get(plan.destination) === tail) this.locks.delete(plan.destination);
    });
    return run;
  }

  private async applyLocked(plan: ApplyPlan): Promise<void> {
    const paths = this.paths(plan.destination);
    const text = await readOptional(paths.data);
    let data: Data;
    try {
      data = text === undefined ? {} : this.format.read(text);
    } catch (err) {
      throw new Error(
        `${paths.data} cannot be read as ${this.format.ext} (${(err as Error).message}); refusing to overwrite it`,
      );
    }
    for (const key of plan.stale) delete data[key];
    Object.assign(data, plan.set);
    const sorted: Data = {};
    for (const key of Object.keys(data).sort()) sorted[key] = data[key]!;
    const manifests = await this.manifests(plan.destination);
    manifests.scopes[plan.scopeKey] = plan.manifest;
    if (Object.keys(sorted).length === 0 && text !== undefined) await rm(paths.data, { force: true });
    else if (Object.keys(sorted).length > 0) await atomicWrite(paths.data, this.format.render(sorted));
    await atomicWrite(paths.manifest, `${JSON.stringify(manifests, null, 2)}\n`);
  }

  async close(): Promise<void> {
    await Promise.all(this.locks.values());
  }
}
