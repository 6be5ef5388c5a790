import { join } from "node:path";
import { loadCue } from "@varstream/cue";
import { platformCredentials, processEvent, RepoCache, SchemaRegistry } from "@varstream/etl";
import {
  type Bundle,
  canonicalText,
  type DryRunReport,
  type DryRunScope,
  type Logger,
  type Secrets,
  type Settings,
  scopeKey,
  type WebhookEvent,
} from "@varstream/shared";
import { createSink, planApply, type Sink } from "@varstream/sink-writer";
import { ApiError } from "./errors.ts";

const MASK = "****";

/**
 * Runs ETL for one event in this process and diffs its key sets against each sink's current state
 * (manifest and stored values), as the sink writer would apply them. Nothing is published, nothing is
 * written; `@sensitive()` and `@secret()` values are masked.
 */
export class DryRunner {
  private readonly bundle: Bundle;
  private readonly repos: RepoCache;
  private readonly schemas: SchemaRegistry | undefined;
  private readonly secrets: Secrets;
  private readonly sinks = new Map<string, Promise<Sink>>();

  constructor(options: { bundle: Bundle; settings: Settings; logger: Logger; secrets: Secrets }) {
    const { bundle, settings, logger, secrets } = options;
    this.bundle = bundle;
    this.secrets = secrets;
    const credentialsFor = platformCredentials(bundle, secrets);
    // Caches of their own: the ETL of this host may use the same folders with its own locks.
    this.repos = new RepoCache({
      dir: join(settings.gitCacheDir, "dry-run"),
      maxEntries: settings.gitCacheMaxEntries,
      logger,
      allowedHosts: settings.gitAllowedHosts,
      credentialsFor,
    });
    this.schemas = bundle.schemaRegistry
      ? new SchemaRegistry({
          config: bundle.schemaRegistry,
          repos: new RepoCache({
            dir: join(settings.schemaCacheDir, "dry-run"),
            maxEntries: 2,
            logger,
            credentialsFor,
          }),
          cue: lazyCue(),
          ttlMs: settings.schemaTtlMs,
          logger,
        })
      : undefined;
  }

  private sink(name: string): Promise<Sink> {
    let sink = this.sinks.get(name);
    if (!sink) {
      const entry = this.bundle.datasources.get(name);
      if (!entry) throw new ApiError("UNKNOWN_DATASOURCE", `no datasource named ${name}`);
      sink = createSink(entry, this.secrets);
      this.sinks.set(name, sink);
    }
    return sink;
  }

  async run(event: WebhookEvent): Promise<DryRunReport> {
    const output = await processEvent(event, {
      bundle: this.bundle,
      repos: this.repos,
      ...(this.schemas ? { schemas: this.schemas } : {}),
    }).catch((err: Error) => {
      throw new ApiError("BAD_REQUEST", `dry-run could not read the change: ${err.message}`);
    });
    const envs = new Map(output.keysets.map((k) => [k.scope.file, k.env]));
    const report: DryRunReport = {
      task_id: event.task_id,
      dry_run: true,
      outcome: output.report.outcome,
      message: output.report.message,
      files: output.report.files.map((f) => ({ ...f, ...(envs.has(f.path) ? { env: envs.get(f.path)! } : {}) })),
      sinks: {},
      warnings: output.report.warnings,
    };
    const desired = [
      ...output.keysets.map((k) => ({ scope: k.scope, keySet: k })),
      ...output.tombstones.map((scope) => ({ scope, keySet: null })),
    ];
    for (const { scope, keySet } of desired) {
      const sink = await this.sink(scope.datasource);
      const key = scopeKey(scope);
      const plan = planApply(
        { scope, taskId: event.task_id, commit: event.after, keySet },
        await sink.readManifest(scope, key),
      );
      const masked = new Set([...(keySet?.sensitive ?? []), ...(keySet?.secrets ?? [])]);
      const old = await sink.readValues(scope.destination, Object.keys(plan.set));
      const entry: DryRunScope = {
        scope: key,
        set: Object.entries(plan.set).map(([k, value]) => {
          const hidden = masked.has(k);
          const before = old[k];
          return {
            key: k,
            ...(before === undefined ? {} : { old: hidden ? MASK : before }),
            new: hidden ? MASK : canonicalText(value),
          };
        }),
        unchanged: plan.unchanged.length,
        pruned: plan.stale,
      };
      report.sinks[scope.datasource] ??= { scopes: [] };
      report.sinks[scope.datasource]!.scopes.push(entry);
    }
    return report;
  }

  async close(): Promise<void> {
    this.repos.close();
    for (const sink of this.sinks.values()) await (await sink.catch(() => undefined))?.close();
  }
}

function lazyCue() {
  let cue: ReturnType<typeof loadCue> | undefined;
  const get = () => {
    cue ??= loadCue();
    return cue;
  };
  return {
    backend: "lazy",
    evaluate: async (source: string, options?: { filename?: string; path?: string }) =>
      (await get()).evaluate(source, options),
    compile: async (source: string, filename?: string) => (await get()).compile(source, filename),
    close: () => undefined,
  };
}
