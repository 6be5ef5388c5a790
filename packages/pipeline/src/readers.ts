import { join } from "node:path";
import type { Bundle } from "@varstream/bundle";
import { type CueEvaluator, loadCue } from "@varstream/cue";
import type { Logger, Secrets, Settings, WebhookEvent } from "@varstream/shared";
import { platformCredentials } from "./git/platform-credentials.ts";
import { RepoCache } from "./git/repo-cache.ts";
import { type EtlOutput, processEvent } from "./process-event.ts";
import type { ProcessDeps } from "./stages/deps.ts";
import { SchemaRegistry } from "./validation/schema-registry.ts";

export interface GitReaders {
  /** config repositories, under GIT_CACHE_DIR */
  repos: RepoCache;
  /** the schema registry, when the bundle has one, under SCHEMA_CACHE_DIR */
  schemas?: SchemaRegistry;
  /** processEvent with these caches, the bundle and the settings' limits */
  process(event: WebhookEvent, extra?: Pick<ProcessDeps, "lastCommit" | "now">): Promise<EtlOutput>;
  close(): void;
}

export interface GitReadersOptions {
  bundle: Bundle;
  settings: Settings;
  logger: Logger;
  /** resolves platform credentials (default: a resolver of the bundle's secret managers) */
  secrets?: Secrets;
  /** the CUE evaluator schemas compile with (default: the process's own, loaded on first use) */
  cue?: CueEvaluator;
  /**
   * a subfolder of both caches: a second user in one process or host (the dry-run beside ETL) keeps
   * folders of its own, since each cache locks its folders for itself
   */
  subdir?: string;
}

/**
 * The git caches, the schema registry and processEvent over them, built one way for every user (ETL
 * and dry-run): the same host guard, credentials and limits, so the two can never read Git differently.
 */
export function createGitReaders(options: GitReadersOptions): GitReaders {
  const { bundle, settings, logger } = options;
  const credentialsFor = platformCredentials(bundle, options.secrets);
  const dir = (base: string) => (options.subdir === undefined ? base : join(base, options.subdir));
  const repos = new RepoCache({
    dir: dir(settings.gitCacheDir),
    maxEntries: settings.gitCacheMaxEntries,
    logger,
    allowedHosts: settings.gitAllowedHosts,
    credentialsFor,
  });
  const schemaRepos = bundle.schemaRegistry
    ? new RepoCache({
        dir: dir(settings.schemaCacheDir),
        maxEntries: 2,
        logger,
        allowedHosts: settings.gitAllowedHosts,
        credentialsFor,
      })
    : undefined;
  const schemas =
    bundle.schemaRegistry && schemaRepos
      ? new SchemaRegistry({
          config: bundle.schemaRegistry,
          repos: schemaRepos,
          cue: options.cue ?? lazyCue(),
          ttlMs: settings.schemaTtlMs,
          logger: logger.child({ component: "schema-registry" }),
        })
      : undefined;
  return {
    repos,
    ...(schemas ? { schemas } : {}),
    process: (event, extra = {}) =>
      processEvent(event, {
        bundle,
        repos,
        ...(schemas ? { schemas } : {}),
        maxFileBytes: settings.maxFileBytes,
        treeLimits: settings.treeLimits,
        ...extra,
      }),
    close() {
      repos.close();
      schemaRepos?.close();
    },
  };
}

/** The process's CUE evaluator, loaded when a schema is first compiled. */
function lazyCue(): CueEvaluator {
  let cue: ReturnType<typeof loadCue> | undefined;
  const get = () => {
    cue ??= loadCue();
    return cue;
  };
  const evaluator: CueEvaluator = {
    backend: "lazy",
    evaluate: async (source, options) => (await get()).evaluate(source, options),
    compile: async (source, filename) => (await get()).compile(source, filename),
    close: () => undefined,
  };
  return evaluator;
}
