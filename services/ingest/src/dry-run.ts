import type { Bundle } from "@varstream/bundle";
import { createGitReaders, type GitReaders } from "@varstream/pipeline";
import {
  ApiError,
  canonicalText,
  type DryRunReport,
  type DryRunScope,
  type Logger,
  type Secrets,
  type Settings,
  scopeKey,
  type WebhookEvent,
} from "@varstream/shared";
import { createSink, planAgainst, type Sink } from "@varstream/sinks";

const MASK = "****";

/**
 * Runs ETL for one event in this process and diffs its key sets against each sink's current state
 * (manifest and stored values), as the sink writer would apply them. Nothing is published, nothing is
 * written; `@sensitive()` and `@secret()` values are masked.
 */
export class DryRunner {
  private readonly bundle: Bundle;
  private readonly readers: GitReaders;
  private readonly secrets: Secrets;
  private readonly appEnv: string;
  private readonly sinks = new Map<string, Promise<Sink>>();

  constructor(options: { bundle: Bundle; settings: Settings; logger: Logger; secrets: Secrets }) {
    const { bundle, settings, logger, secrets } = options;
    this.bundle = bundle;
    this.secrets = secrets;
    this.appEnv = settings.appEnv;
    // Caches of their own: the ETL of this host may use the same folders with its own locks.
    this.readers = createGitReaders({ bundle, settings, logger, secrets, subdir: "dry-run" });
  }

  private sink(name: string): Promise<Sink> {
    let sink = this.sinks.get(name);
    if (!sink) {
      const entry = this.bundle.datasources.get(name);
      if (!entry) throw new ApiError("UNKNOWN_DATASOURCE", `no datasource named ${name}`);
      sink = createSink(entry, { secrets: this.secrets, appEnv: this.appEnv });
      this.sinks.set(name, sink);
    }
    return sink;
  }

  async run(event: WebhookEvent): Promise<DryRunReport> {
    const output = await this.readers.process(event).catch((err: Error) => {
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
      // The plan the sink writer would make: the same manifest and the same claims of other scopes.
      const desired = { scope, taskId: event.task_id, commit: event.after, keySet };
      const manifest = await sink.readManifest(scope);
      const { plan, claims } = await planAgainst(sink, desired, manifest);
      // Masked: what this file marks, what this scope's stored manifest remembers as sensitive, and
      // what any other scope of the destination claiming a key remembers (a second file cannot unmask it).
      const masked = new Set([
        ...(keySet?.sensitive ?? []),
        ...(keySet?.secrets ?? []),
        ...(manifest?.sensitive ?? []),
        ...Object.entries(claims)
          .filter(([k, claim]) => claim.manifest.sensitive?.includes(k))
          .map(([k]) => k),
      ]);
      const old = await sink.readValues(scope.destination, Object.keys(plan.set), scope);
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
    this.readers.close();
    for (const sink of this.sinks.values()) await (await sink.catch(() => undefined))?.close();
  }
}
