import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { canonicalText, type FlatValue, PipelineError, type Scope, scopeKey } from "@varstream/shared";
import { claimedBy } from "../claims.ts";
import { type ApplyPlan, type Claim, type Manifest, refuseOlder, type Sink, type SinkDeps } from "../contract.ts";
import type { FileSinkConfig } from "./config.ts";
import { type FileFormat, FORMATS } from "./formats.ts";
import { type FileStore, LocalStore } from "./store.ts";

type Data = Record<string, FlatValue>;

interface ManifestFile {
  destination: string;
  scopes: Record<string, Manifest>;
  /** sha256 of the data file these manifests describe (null: no data file) */
  data_sha256?: string | null;
  /** the manifests before the apply that wrote this file, and the sha256 of the data file then */
  previous?: Record<string, Manifest>;
  previous_data_sha256?: string | null;
}

function sha256(text: string | undefined): string | null {
  return text === undefined ? null : createHash("sha256").update(text).digest("hex");
}

/**
 * The embedded default sink: one file per destination, `<path>/<destination>.<format>`,
 * holding the keys of every scope that feeds it plus any key written by others (json and yaml as the
 * tree the keys came from, env and properties flat; see formats.ts and README.md beside this file).
 * Manifests live in `<path>/.varstream/<destination>.manifest.json`. Each write is temp file + rename.
 * The manifest file is written first, naming the sha256 of the data file it describes and keeping the
 * manifests before it (and the old data file's sha256); then the data file. A manifest file whose data
 * file is still the old one (a failure or a crash between the two renames) is put back to the previous
 * manifests when it is next read. A data file that is neither (edited by somebody else since) counts as
 * landed.
 */
export interface FileSinkOptions {
  format: FileSinkConfig["format"];
  store: FileStore;
  /**
   * runs on the new data file (its temp path, and the mode it is to have) before it replaces the old
   * one; a throw keeps the old file
   */
  prepare?: (tempPath: string, mode: number) => Promise<void>;
  /** the data file's mode (default 0644); a file holding secrets never keeps bits for others */
  mode?: number;
  /** runs after a destination changed */
  reload?: (path: string) => Promise<void>;
  /**
   * An absolute destination (`/etc/app/production.env`) is that file on the host, its manifest under the
   * sink's folder (varTrack's linux_server writes such paths); without this, absolute paths are refused.
   */
  absolutePaths?: boolean;
}

export class FileSink implements Sink {
  readonly name: string;
  private readonly store: FileStore;
  private readonly format: FileFormat;
  private readonly options: FileSinkOptions;
  private readonly locks = new Map<string, Promise<unknown>>();
  /** destination → the manifest file text last checked against its data file and found landed */
  private readonly landed = new Map<string, string>();

  /** A local folder: nothing to connect to. */
  static async connect(name: string, config: FileSinkConfig, _deps?: SinkDeps): Promise<FileSink> {
    return new FileSink(name, { format: config.format, store: new LocalStore(resolve(config.path)) });
  }

  /** The file sink over any {@link FileStore}; the ssh sink gives it an SFTP one. */
  protected constructor(name: string, options: FileSinkOptions) {
    this.name = name;
    this.options = options;
    this.store = options.store;
    this.format = FORMATS[options.format];
  }

  /**
   * A destination is a relative path inside the sink's folder; `..` is refused, and so is an absolute
   * path unless the sink allows them (then the file is that path, its format's extension added unless
   * it has it, and its manifest lives under `.varstream/abs/`).
   */
  private paths(destination: string): { data: string; manifest: string } {
    const absolute = destination.startsWith("/") && this.options.absolutePaths === true;
    const relative = absolute ? destination.slice(1) : destination;
    const parts = relative.split("/");
    if (parts.some((p) => p === "" || p === "." || p === "..") || destination.includes("\0")) {
      throw new PipelineError("SINK_REFUSED", `destination ${JSON.stringify(destination)} is not a safe relative path`);
    }
    if (!absolute)
      return { data: `${destination}.${this.format.ext}`, manifest: `.varstream/${destination}.manifest.json` };
    const ext = `.${this.format.ext}`;
    return {
      data: destination.endsWith(ext) ? destination : `${destination}${ext}`,
      manifest: `.varstream/abs/${relative}.manifest.json`,
    };
  }

  private async manifestFile(destination: string): Promise<{ file: ManifestFile; text: string | undefined }> {
    const text = await this.store.read(this.paths(destination).manifest);
    return { file: text === undefined ? { destination, scopes: {} } : (JSON.parse(text) as ManifestFile), text };
  }

  /** The manifests of the destination's last completed apply, restoring them if an apply was cut off. */
  private manifests(destination: string): Promise<ManifestFile> {
    return this.locked(destination, async () => (await this.settle(destination)).file);
  }

  /** `data`: the data file's text when the caller has just read it */
  private async settle(
    destination: string,
    known?: { data: string | undefined },
  ): Promise<{ file: ManifestFile; restored: boolean }> {
    const { file, text } = await this.manifestFile(destination);
    if (file.previous === undefined) return { file, restored: false };
    // A manifest file this process already found landed needs no second look at the data file.
    if (text !== undefined && this.landed.get(destination) === text) return { file, restored: false };
    const paths = this.paths(destination);
    const data = known ? known.data : await this.store.read(paths.data);
    const landed = sha256(data);
    if (landed !== file.previous_data_sha256 || landed === file.data_sha256) {
      if (text !== undefined) this.landed.set(destination, text);
      return { file, restored: false };
    }
    // The data file is still the one from before that apply (renames are atomic): back to its manifests.
    const restored: ManifestFile = { destination, scopes: file.previous, data_sha256: landed };
    await this.store.write(paths.manifest, `${JSON.stringify(restored, null, 2)}\n`);
    await this.store.cleanup(paths.data);
    return { file: restored, restored: true };
  }

  async restore(scope: Scope): Promise<boolean> {
    return this.locked(scope.destination, async () => (await this.settle(scope.destination)).restored);
  }

  async claims(scope: Scope, keys: string[]): Promise<Record<string, Claim>> {
    const key = scopeKey(scope);
    const all = (await this.manifests(scope.destination)).scopes;
    return claimedBy(
      keys,
      Object.entries(all).filter(([other]) => other !== key),
    );
  }

  async readManifest(scope: Scope): Promise<Manifest | null> {
    return (await this.manifests(scope.destination)).scopes[scopeKey(scope)] ?? null;
  }

  async readValues(destination: string, keys: string[]): Promise<Record<string, string | undefined>> {
    const text = await this.store.read(this.paths(destination).data);
    const data: Data = text === undefined ? {} : this.format.read(text);
    return Object.fromEntries(keys.map((k) => [k, k in data ? canonicalText(data[k]!) : undefined]));
  }

  apply(plan: ApplyPlan): Promise<void> {
    return this.locked(plan.scope.destination, () => this.applyLocked(plan));
  }

  /** Runs `fn` after every earlier call for the same destination: one file, one writer at a time. */
  private locked<T>(destination: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(destination) ?? Promise.resolve();
    const run = previous.then(fn);
    const tail = run.catch(() => undefined);
    this.locks.set(destination, tail);
    void tail.then(() => {
      if (this.locks.get(destination) === tail) this.locks.delete(destination);
    });
    return run;
  }

  private async applyLocked(plan: ApplyPlan): Promise<void> {
    const paths = this.paths(plan.scope.destination);
    const text = await this.store.read(paths.data);
    let data: Data;
    try {
      data = text === undefined ? {} : this.format.read(text);
    } catch (err) {
      throw new PipelineError(
        "SINK_REFUSED",
        `${paths.data} cannot be read as ${this.format.ext} (${(err as Error).message}); refusing to overwrite it`,
      );
    }
    for (const key of plan.stale) delete data[key];
    Object.assign(data, plan.set);
    const sorted: Data = {};
    for (const key of Object.keys(data).sort()) sorted[key] = data[key]!;
    const { file } = await this.settle(plan.scope.destination, { data: text });
    // Files have no transaction across processes: the check is made on the manifest file as read
    // just before the writes (and under this process's lock of the destination).
    refuseOlder(scopeKey(plan.scope), file.scopes[scopeKey(plan.scope)] ?? null, plan);
    const changed = Object.keys(plan.set).length > 0 || plan.stale.length > 0;
    const empty = Object.keys(sorted).length === 0;
    const next = changed ? (empty ? undefined : this.format.render(sorted)) : text;
    const manifests: ManifestFile = {
      destination: plan.scope.destination,
      scopes: { ...file.scopes, [scopeKey(plan.scope)]: plan.manifest },
      data_sha256: sha256(next),
      ...(changed ? { previous: file.scopes, previous_data_sha256: sha256(text) } : {}),
    };
    // A destination any scope of which holds @sensitive/@secret values is readable by its owner only.
    const secret = Object.values(manifests.scopes).some((m) => (m.sensitive?.length ?? 0) > 0);
    const mode = secret ? 0o600 : 0o644;
    // A mode the sink is given applies to the data file, less the bits for others when it holds secrets.
    const dataMode = this.options.mode === undefined ? mode : this.options.mode & (secret ? 0o770 : 0o777);
    await this.store.write(paths.manifest, `${JSON.stringify(manifests, null, 2)}\n`, undefined, mode);
    if (!changed) return;
    const prepare = this.options.prepare;
    if (next === undefined) {
      if (text !== undefined) await this.store.remove(paths.data);
    } else await this.store.write(paths.data, next, prepare && ((tempPath) => prepare(tempPath, dataMode)), dataMode);
    await this.options.reload?.(paths.data);
  }

  async close(): Promise<void> {
    await Promise.all(this.locks.values());
    await this.store.close();
  }
}
