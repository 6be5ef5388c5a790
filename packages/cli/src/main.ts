import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadBundle } from "@varstream/bundle";
import { PLATFORM_KINDS, PLATFORMS, Platform } from "@varstream/platforms";
import { loadSettings, parseDuration } from "@varstream/shared";
import { diffText, dryRun, dryRunExit } from "./commands/dry-run.ts";
import { findOrphans, orphanLines, pruneOrphans } from "./commands/orphans.ts";
import { rebuildSink, replayGroup } from "./commands/replay.ts";
import { ApiClient, progressLines, taskLine, taskReport, watchExit } from "./commands/tasks.ts";
import { describeTopics } from "./commands/topics.ts";
import { validateFile } from "./commands/validate.ts";

/** This command's version, from its package.json. */
const VERSION = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string })
  .version;

/** `--timeout` as watch options (a duration such as 30s, 5m, 1h). */
function watchOptions(timeout: string | undefined): { timeoutMs?: number } {
  if (timeout === undefined) return {};
  try {
    return { timeoutMs: parseDuration(timeout) };
  } catch {
    throw new UsageError(`--timeout ${timeout} is not a duration (30s, 5m, 1h)`);
  }
}

const HELP: Record<string, string> = {
  "": `varstream — GitOps configuration sync on Kafka

Usage: varstream <command> [options]   (--json for output a script reads; --version)

Commands:
  validate <file> [--schema s.cue]      parse a config file; with a schema, validate it with CUE (exit 1 on failure)
  dry-run <datasource> --payload <file> show the diff a webhook would apply, writing nothing (exit 1 on a diff)
  sync <datasource> [--env E]           resync a datasource from its desired state (repair mode)
  task get <id>                         a task's document
  task list [--datasource D] [--state S] [--limit N]
  task watch <id> [--timeout 5m]        print the task's and each sink's progress until it ends (exit 0 SUCCEEDED, 1 FAILED/PARTIAL, 3 timeout)
  replay --sink <name> [--to-datetime T] [--new-sink]
                                        rebuild a sink from the compacted keysets topic
  topics                                the pipeline's topics and each consumer group's lag
  plan [--datasource D]                 stored scopes no rule of the bundle produces any more (orphans)
  prune-orphans --datasource D [--apply]
                                        list a datasource's orphaned scopes; --apply removes their keys

Environment: VARSTREAM_URL (ingest, default http://127.0.0.1:8000), VARSTREAM_TOKEN (its bearer token), KAFKA_BROKERS, TOPIC_PREFIX, CONFIG_PATH.
Run "varstream <command> --help" for a command's options.`,
  validate: `varstream validate <file> [--schema schema.cue] [--json]
Parses the file by its extension (YAML, JSON, TOML, INI, dotenv, properties, HCL, XML) and, with
--schema, unifies it with the schema's #Config (or the whole schema). Exit 1 when anything fails.`,
  "dry-run": `varstream dry-run <datasource> --payload <webhook.json> [--platform ${PLATFORM_KINDS.join("|")}] [--event push] [--[no-]exit-code] [--json]
Posts the payload to the dry-run endpoint and prints, per sink and scope, the keys that would be set
(+ new, ~ old → new), pruned (-) and left unchanged. Sensitive values are masked. Writes nothing.
VARSTREAM_WEBHOOK_SECRET signs the payload when the platform has a secret.
Exit 0 when nothing would change, 1 when something would (a CI gate, as \`argocd app diff\`; --exit-code,
the default, says so explicitly, --no-exit-code gives 0 for a diff), 2 when a file fails validation (the
push would fail) or the dry run cannot be made.`,
  sync: `varstream sync <datasource> [--env ENV] [--reason TEXT] [--watch] [--json]
Re-emits the desired key sets of the datasource (optionally one env) in repair mode; every sink writes
every key again and reports which ones had drifted. --watch follows the task until it ends.`,
  task: `varstream task get <id> | list [--datasource D] [--state S] [--limit N] [--cursor C] | watch <id> [--timeout 5m]  [--json]
watch prints the task's state and each sink's whenever one changes, and exits with the final state:
0 SUCCEEDED, 1 FAILED or PARTIAL, 3 when --timeout (a duration: 30s, 5m, 1h) passed first.`,
  replay: `varstream replay --sink <name> [--to-datetime ISO] [--new-sink] [--json]
Without --new-sink: resets the sink's consumer group to the start of the compacted keysets topic (or to
the first record at or after --to-datetime), so the sink writer converges the sink again. The group
must have no active member: stop that sink's writer first, start it after.
With --new-sink: writes every scope of the sink's desired state straight into the store the bundle
(CONFIG_PATH) describes — a new, empty store — without touching the group.`,
  topics: `varstream topics [--json]
Lists the pipeline's topics (partitions, records) and the lag of ETL's and every sink's consumer group.`,
  plan: `varstream plan [--datasource D] [--json]
Reads the compacted keysets topic and lists the scopes no rule of the bundle (CONFIG_PATH) produces any
more — a rule removed, or its repositories, files, branches or destination_template changed — with their
key counts. Nothing updates or deletes such a scope's keys, and resyncs leave it out. Writes nothing.`,
  "prune-orphans": `varstream prune-orphans --datasource D [--apply] [--json]
Without --apply (the default), lists the datasource's orphaned scopes, as plan does. With --apply, writes a
tombstone for each to the keysets topic: the datasource's sink writers remove exactly the keys those
scopes' manifests hold, and the compacted topic forgets them. Recorded on the audit trail. Orphans are
judged against the bundle at CONFIG_PATH: run it with the bundle that is deployed.`,
};

export async function main(argv: string[], out: (line: string) => void = console.log): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    allowNegative: true,
    strict: true,
    options: {
      help: { type: "boolean", short: "h" },
      json: { type: "boolean" },
      schema: { type: "string" },
      env: { type: "string" },
      reason: { type: "string" },
      watch: { type: "boolean" },
      datasource: { type: "string" },
      state: { type: "string" },
      limit: { type: "string" },
      cursor: { type: "string" },
      sink: { type: "string" },
      "to-datetime": { type: "string" },
      "new-sink": { type: "boolean" },
      payload: { type: "string" },
      platform: { type: "string" },
      event: { type: "string" },
      apply: { type: "boolean" },
      "exit-code": { type: "boolean", default: true },
      timeout: { type: "string" },
      version: { type: "boolean", short: "v" },
    },
  });
  if (values.version) {
    out(VERSION);
    return 0;
  }
  const [command = "", ...rest] = positionals;
  if (values.help || command === "" || !(command in HELP)) {
    out(HELP[command in HELP ? command : ""]!);
    return command === "" || values.help ? 0 : 2;
  }
  const print = (human: string, data: unknown) => out(values.json ? JSON.stringify(data) : human);
  try {
    switch (command) {
      case "validate": {
        const file = rest[0];
        if (!file) throw new UsageError("validate needs a file");
        const result = await validateFile(file, values.schema);
        const human = result.ok
          ? `ok: ${file} (${result.format})`
          : [`invalid: ${file}`, ...result.errors.map((e) => `  ${e.path || "(root)"}: ${e.message}`)].join("\n");
        print(human, result);
        return result.ok ? 0 : 1;
      }
      case "dry-run": {
        const datasource = rest[0];
        if (!datasource || !values.payload) throw new UsageError(HELP["dry-run"]!);
        const parsed = Platform.safeParse(values.platform ?? "github");
        if (!parsed.success) throw new UsageError(`--platform is one of ${PLATFORM_KINDS.join(", ")}`);
        const platform = parsed.data;
        const report = await dryRun({
          base: new ApiClient().base,
          datasource,
          payloadFile: values.payload,
          platform,
          event: values.event ?? PLATFORMS[platform].events.push,
          ...(process.env.VARSTREAM_WEBHOOK_SECRET ? { secret: process.env.VARSTREAM_WEBHOOK_SECRET } : {}),
        });
        print(diffText(report), report);
        const code = dryRunExit(report);
        return code === 1 && !values["exit-code"] ? 0 : code;
      }
      case "sync": {
        const datasource = rest[0];
        if (!datasource) throw new UsageError("sync needs a datasource");
        const api = new ApiClient();
        const { task_id } = await api.sync(datasource, { env: values.env, reason: values.reason });
        if (!values.watch) {
          print(`accepted: task ${task_id}`, { task_id });
          return 0;
        }
        const doc = await api.watch(task_id, (d) => values.json || out(progressLines(d)), watchOptions(values.timeout));
        if (values.json) out(JSON.stringify(doc ?? { task_id, state: "TIMEOUT" }));
        return watchExit(doc);
      }
      case "task": {
        const api = new ApiClient();
        const [sub, id] = rest;
        if (sub === "get" && id) {
          const doc = await api.task(id);
          print(taskReport(doc), doc);
          return 0;
        }
        if (sub === "list") {
          const page = await api.tasks({
            datasource: values.datasource,
            state: values.state,
            limit: values.limit,
            cursor: values.cursor,
          });
          print(page.tasks.map(taskLine).join("\n") || "no tasks", page);
          return 0;
        }
        if (sub === "watch" && id) {
          const doc = await api.watch(
            id,
            (d) => out(values.json ? JSON.stringify(d) : progressLines(d)),
            watchOptions(values.timeout),
          );
          if (doc === undefined && !values.json) out(`timed out: task ${id} is not in a final state`);
          return watchExit(doc);
        }
        throw new UsageError(HELP.task!);
      }
      case "replay": {
        if (!values.sink) throw new UsageError("replay needs --sink <name>");
        const settings = loadSettings();
        const bundle = await loadBundle(settings.configPath);
        const options = {
          settings,
          bundle,
          sink: values.sink,
          ...(values["to-datetime"] ? { toDatetime: values["to-datetime"] } : {}),
        };
        if (values["new-sink"]) {
          const result = await rebuildSink(options);
          print(
            `rebuilt ${values.sink}: ${result.scopes} scopes, ${result.keys} keys written${result.failed.length ? `; failed: ${result.failed.join("; ")}` : ""}`,
            result,
          );
          return result.failed.length === 0 ? 0 : 1;
        }
        const result = await replayGroup(options);
        print(`reset ${result.groupId} on ${result.partitions} partitions; start the sink writer to rebuild`, result);
        return 0;
      }
      case "plan":
      case "prune-orphans": {
        const apply = command === "prune-orphans" && values.apply === true;
        if (command === "prune-orphans" && !values.datasource) throw new UsageError(HELP["prune-orphans"]!);
        const settings = loadSettings();
        const bundle = await loadBundle(settings.configPath);
        const options = { settings, bundle, ...(values.datasource ? { datasource: values.datasource } : {}) };
        const orphans = apply
          ? await pruneOrphans({ ...options, datasource: values.datasource! })
          : await findOrphans(options);
        const verdict =
          orphans.length === 0
            ? "no orphaned scopes"
            : apply
              ? `tombstoned ${orphans.length} orphaned scope(s): the sink writers remove their keys`
              : `${orphans.length} orphaned scope(s)${command === "prune-orphans" ? "; --apply removes their keys" : ""}`;
        print([...orphanLines(orphans), verdict].join("\n"), { orphans, applied: apply });
        return 0;
      }
      case "topics": {
        const settings = loadSettings();
        const bundle = await loadBundle(settings.configPath).catch(() => undefined);
        const report = await describeTopics(settings, bundle ? [...bundle.datasources.keys()] : []);
        const human = [
          ...report.topics.map(
            (t) => `${t.topic.padEnd(40)} ${String(t.partitions).padStart(3)} partitions ${t.messages} records`,
          ),
          ...report.lag.map((l) => `lag ${l.group.padEnd(36)} ${l.lag}`),
        ].join("\n");
        print(human, report);
        return 0;
      }
    }
    return 2;
  } catch (err) {
    if (err instanceof UsageError) {
      out(err.message);
      return 2;
    }
    out(values.json ? JSON.stringify({ error: (err as Error).message }) : `error: ${(err as Error).message}`);
    // dry-run's 1 means "a diff": a dry run that could not be made is 2, as for a usage error
    return command === "dry-run" ? 2 : 1;
  }
}

class UsageError extends Error {}
