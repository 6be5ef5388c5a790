import { basename } from "node:path";
import type { SchemaRegistryConfig } from "@varstream/bundle";
import type { CompiledSchema, CueEvaluator } from "@varstream/cue";
import { type Logger, PipelineError } from "@varstream/shared";
import type { RepoCache } from "../git/repo-cache.ts";

/** A schema file that does not compile fails the files it governs, with CUE's reason. */
export class SchemaError extends PipelineError {
  override name = "SchemaError";
  constructor(message: string) {
    super("SCHEMA_INVALID", message);
  }
}

export interface SchemaRegistryOptions {
  config: SchemaRegistryConfig;
  /** a repository cache of its own, under SCHEMA_CACHE_DIR */
  repos: RepoCache;
  cue: CueEvaluator;
  ttlMs: number;
  logger: Logger;
}

/**
 * The schema registry repository: the schema of `config/app.yaml` is `app.yaml.cue`, else
 * `app.cue`, else `default.cue`, at the registry branch's tip. The tip is fetched again on a push to
 * the registry (`refresh`) and whenever it is older than SCHEMA_TTL_SECONDS. Schemas compile once per
 * content, so a refresh that changes nothing costs nothing.
 */
export class SchemaRegistry {
  private readonly options: SchemaRegistryOptions;
  private head: string | undefined;
  private fetchedAt = 0;
  private refreshing: Promise<string> | undefined;

  constructor(options: SchemaRegistryOptions) {
    this.options = options;
  }

  /** Fetches the registry branch now; returns its commit. */
  refresh(): Promise<string> {
    this.refreshing ??= this.options.repos
      .fetchBranch(this.options.config.url, this.options.config.branch)
      .then((head) => {
        if (head !== this.head) this.options.logger.info({ head }, "schema registry at new commit");
        this.head = head;
        this.fetchedAt = Date.now();
        return head;
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  /** The compiled schema for a config file, or undefined when the registry has none for it. */
  async schemaFor(path: string): Promise<{ file: string; schema: CompiledSchema } | undefined> {
    const head =
      this.head === undefined || Date.now() - this.fetchedAt > this.options.ttlMs ? await this.refresh() : this.head;
    const name = basename(path);
    const stem = name.includes(".") ? name.slice(0, name.lastIndexOf(".")) : name;
    const candidates = [...new Set([`${name}.cue`, `${stem}.cue`, "default.cue"])];
    const found = await this.options.repos.withCommits(this.options.config.url, [head], async (repo) => {
      for (const file of candidates) {
        const bytes = await repo.read(head, file);
        if (bytes !== null) return { file, source: bytes.toString("utf8") };
      }
      return undefined;
    });
    if (!found) return undefined;
    const compiled = await this.options.cue.compile(found.source, found.file);
    if (!compiled.ok) {
      const reasons = compiled.errors.map((e) => `${e.path ? `${e.path}: ` : ""}${e.message}`).join("; ");
      throw new SchemaError(`schema ${found.file} does not compile: ${reasons}`);
    }
    return { file: found.file, schema: compiled.value };
  }
}
