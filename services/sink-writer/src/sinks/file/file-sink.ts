import { resolve } from "node:path";
import { canonicalText, type FileSinkConfig, type FlatValue, type Scope } from "@varstream/shared";
import { claimedBy } from "../claims.ts";
import type { ApplyPlan, Manifest, Sink } from "../sink.ts";
import { type FileFormat, FORMATS } from "./formats.ts";
import { type FileStore, LocalStore } from "./store.ts";

type Data = Record<string, FlatValue>;

interface ManifestFile {
  destination: string;
  scopes: Record<string, Manifest>;
}

/**
 * The embedded default sink (SPEC §5.4): one file per destination, `<path>/<destination>.<format>`,
 * holding the keys of every scope that feeds it plus any key written by others (json and yaml as the
 * tree the keys came from, env and properties flat; see formats.ts and docs/sinks/file.md).
 * Manifests live in `<path>/.varstream/<destination>.manifest.json`. Each write is temp file + rename,
 * data first and manifest second, so a crash in between is repaired by the redelivered apply.
 */
export interface FileSinkOptions {
  format: FileSinkConfig["format"];
  store: FileStore;
  kind?: string;
  /** runs on the new file (its temp path) before it replaces the old one; a throw keeps the old file */
  validate?: (tempPath: string) => Promise<void>;
  /** runs after a destination changed */
  reload?: (path: string) => Promise<void>;
}

export class FileSink implements Sink {
  readonly kind: string;
  readonly name: string;
  private readonly store: FileStore;
  private readonly format: FileFormat;
  private readonly options: FileSinkOptions;
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(name: string, config: FileSinkConfig | FileSinkOptions) {
    const options: FileSinkOptions =
      "store" in config ? config : { format: config.format, store: new LocalStore(resolve(config.path)) };
    this.name = name;
    this.kind = options.kind ?? "file";
    this.options = options;
    this.store = options.store;
    this.format = FORMATS[options.format];
  }

  /** A destination is a relative path inside the sink's folder; `..` and absolute paths are refused. */
  private paths(destination: string): { data: string; manifest: string } {
    const parts = destination.split("/");
    if (parts.some((p) => p === "" || p === "." || p === "..") || destination.includes("\0")) {
      throw new Error(`destination ${JSON.stringify(destination)} is not a safe relative path`);
    }
    return { data: `${destination}.${this.format.ext}`, manifest: `.varstream/${destination}.manifest.json` };
  }

  describe(destination: string): string {
    return `${this.store.where}/${this.paths(destination).data}`;
  }

  private async manifests(destination: string): Promise<ManifestFile> {
    const text = await this.store.read(this.paths(destination).manifest);
    return text === undefined ? { destination, scopes: {} } : (JSON.parse(text) as ManifestFile);
  }

  async claims(scope: Scope, scopeKey: string, keys: string[]): Promise<Record<string, string>> {
    const all = (await this.manifests(scope.destination)).scopes;
    return claimedBy(
      keys,
      Object.entries(all).filter(([other]) => other !== scopeKey),
    );
  }

  async readManifest(scope: Scope, scopeKey: string): Promise<Manifest | null> {
    return (await this.manifests(scope.destination)).scopes[scopeKey] ?? null;
  }

  async readValues(destination: string, keys: string[]): Promise<Record<string, string | undefined>> {
    const text = await this.store.read(this.paths(destination).data);
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
    const text = await this.store.read(paths.data);
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
    const changed = Object.keys(plan.set).length > 0 || plan.stale.length > 0;
    if (Object.keys(sorted).length === 0 && text !== undefined) await this.store.remove(paths.data);
    else if (Object.keys(sorted).length > 0 && changed) {
      await this.store.write(paths.data, this.format.render(sorted), this.options.validate);
    }
    await this.store.write(paths.manifest, `${JSON.stringify(manifests, null, 2)}\n`);
    if (changed) await this.options.reload?.(paths.data);
  }

  async close(): Promise<void> {
    await Promise.all(this.locks.values());
    await this.store.close();
  }
}
