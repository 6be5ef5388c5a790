import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { loadCue } from "@varstream/cue";
import { PLATFORMS, Platform } from "@varstream/platforms";
import { doc, type Logger, SecretManagers } from "@varstream/shared";
import { type DatasourceEntry, SINKS, type SinkKind } from "@varstream/sinks";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ControlPlane } from "./control-plane.ts";
import { BundleError } from "./error.ts";
import { PlatformConfig } from "./platform.ts";
import { Rule } from "./rule.ts";
import { type BundleNotice, translateBundle, type UnsupportedDatasource } from "./vartrack/dialect.ts";

export type { BundleNotice, UnsupportedDatasource };
export { BundleError, PlatformConfig, Rule };

/**
 * The configuration bundle: `bundle: {platforms, datasources, rules, …}`. Platforms and datasources
 * are lists of `{<kind>: {…}}` entries, named `<kind>` or `<kind>-<tag>`; their kinds come from the
 * platform and sink registries. Every field is described in docs/bundle.md (generated from these schemas).
 */

const Entry = <T extends z.ZodType>(kinds: Record<string, T>) =>
  z.record(z.string(), z.unknown()).superRefine((entry, ctx) => {
    const keys = Object.keys(entry);
    if (keys.length !== 1 || !(keys[0]! in kinds)) {
      ctx.addIssue({
        code: "custom",
        message: `an entry is {<kind>: {…}} with one kind of ${Object.keys(kinds).join(", ")}; got ${keys.join(", ") || "nothing"}`,
      });
    }
  });

export const SchemaRegistry = z
  .object({
    platform: doc(z.string().min(1), "the platform (by name) the registry repository lives on", "github"),
    repo: doc(z.string().min(1), "the repository, `owner/name`", "acme/config-schemas"),
    branch: doc(z.string().min(1).default("main"), "the branch whose tip holds the schemas"),
    url: doc(z.string().min(1).optional(), "the clone URL, when it is not `<platform endpoint>/<repo>`"),
  })
  .strict();

export const RawBundle = z
  .object({
    platforms: doc(
      z.array(Entry(Object.fromEntries(Object.keys(PLATFORMS).map((kind) => [kind, PlatformConfig])))).default([]),
      "the git hosts webhooks come from: `{<kind>: {…}}` entries",
    ),
    datasources: doc(
      z.array(Entry(Object.fromEntries(Object.entries(SINKS).map(([kind, d]) => [kind, d.config])))).default([]),
      "the sinks: `{<kind>: {…}}` entries, each kind's fields on its page under packages/sinks/src/<kind>/README.md",
    ),
    rules: doc(z.array(Rule).default([]), "which files of which repositories go to which datasources"),
    schema_registry: doc(
      SchemaRegistry.optional(),
      "the repository holding the CUE schemas files are validated against",
    ),
    secret_managers: doc(SecretManagers.optional(), "where `{ref: {path, key}}` credentials are looked up"),
    control_plane: doc(
      ControlPlane.optional(),
      "who may call ingest's API (tasks, sync, dry-run, metrics) and gRPC control calls",
    ),
  })
  .strict();

export interface PlatformEntry {
  name: string;
  kind: Platform;
  config: z.infer<typeof PlatformConfig>;
}

export type { DatasourceEntry };

export interface SchemaRegistryConfig {
  platform: string;
  repo: string;
  branch: string;
  /** the resolved clone URL */
  url: string;
}

export interface Bundle {
  platforms: Map<string, PlatformEntry>;
  datasources: Map<string, DatasourceEntry>;
  rules: Rule[];
  schemaRegistry?: SchemaRegistryConfig;
  secretManagers?: SecretManagers;
  controlPlane: ControlPlane;
  /** what the bundle says that varstream does not act on, maps, or leaves inactive; logged at start */
  notices: BundleNotice[];
  /** datasources of kinds varstream has no sink for yet; the rules writing only them are inactive */
  unsupported: UnsupportedDatasource[];
}

function issuePath(path: readonly PropertyKey[]): string {
  return ["bundle", ...path.map((p) => (typeof p === "number" ? `[${p}]` : String(p)))].join(".").replaceAll(".[", "[");
}

function parseStrict<T extends z.ZodType>(schema: T, value: unknown, at: (string | number)[]): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const path = [...at, ...(issue.path as (string | number)[])];
    if (issue.code === "unrecognized_keys") {
      // The first unknown field's own path, as the dialect's refusals give it.
      const [first, ...more] = issue.keys;
      const also = more.length > 0 ? ` (nor is ${more.join(", ")})` : "";
      throw new BundleError(issuePath([...path, first!]), `is not a known field${also}`);
    }
    throw new BundleError(issuePath(path), issue.message);
  }
  return result.data;
}

/** Validates a decoded bundle document (`{bundle: {…}}` or the bare inner object) into a {@link Bundle}. */
export function decodeBundle(doc: unknown): Bundle {
  const inner = doc !== null && typeof doc === "object" && "bundle" in doc ? (doc as { bundle: unknown }).bundle : doc;
  const translated = translateBundle(inner);
  const { notices, unsupported, dryRunRules } = translated;
  const raw = parseStrict(RawBundle, translated.bundle, []);
  const platforms = new Map<string, PlatformEntry>();
  raw.platforms.forEach((entry, i) => {
    const kind = Platform.parse(Object.keys(entry)[0]);
    const config = parseStrict(PlatformConfig, entry[kind], ["platforms", i, kind]);
    const name = config.tag ? `${kind}-${config.tag}` : kind;
    if (platforms.has(name)) {
      // As varTrack does, rules and webhooks naming it take the first entry of the name.
      notices.push({
        path: issuePath(["platforms", i]),
        kind: "inactive",
        message: `a second platform named ${name}: the first one is used (give each a tag)`,
      });
      return;
    }
    if (config.secret === undefined && !config.insecure_skip_signature) {
      // Loaded, and every webhook of it refused: nothing unsigned gets in (varTrack bundles often
      // leave the secret to the gateway in front).
      notices.push({
        path: issuePath(["platforms", i, kind]),
        kind: "inactive",
        message: `platform ${name} has no secret: its webhooks are refused (set secret, or insecure_skip_signature: true for a local test)`,
      });
    }
    if (config.secret !== undefined && config.insecure_skip_signature) {
      throw new BundleError(
        issuePath(["platforms", i, kind]),
        `platform ${name} has a secret and insecure_skip_signature: remove one`,
      );
    }
    platforms.set(name, { name, kind, config });
  });
  const datasources = new Map<string, DatasourceEntry>();
  raw.datasources.forEach((entry, i) => {
    const kind = Object.keys(entry)[0] as SinkKind;
    const config = parseStrict(SINKS[kind].config, entry[kind], ["datasources", i, kind]) as { tag?: string };
    const name = config.tag ? `${kind}-${config.tag}` : kind;
    if (datasources.has(name)) {
      throw new BundleError(issuePath(["datasources", i]), `duplicate datasource name ${name}`);
    }
    datasources.set(name, { name, kind, config } as DatasourceEntry);
  });
  const rules: Rule[] = [];
  raw.rules.forEach((rule, i) => {
    if (!platforms.has(rule.platform)) {
      throw new BundleError(issuePath(["rules", i, "platform"]), `no platform named ${rule.platform}`);
    }
    const written: string[] = [];
    for (const name of rule.datasource) {
      const found = resolveDatasource(name, datasources);
      if (found) {
        written.push(found);
        continue;
      }
      const absent = unsupported.find((u) => u.name === name || u.tag === name);
      if (!absent) throw new BundleError(issuePath(["rules", i, "datasource"]), `no datasource named ${name}`);
      notices.push({
        path: issuePath(["rules", i, "datasource"]),
        kind: "inactive",
        message: `${absent.name} (${absent.kind}) is not supported yet: nothing is written to it`,
      });
    }
    // A rule without a file selector syncs every changed file, as in varTrack.
    const everyFile =
      !rule.file_name && rule.file_patterns.length === 0 && Object.keys(rule.file_path_map).length === 0;
    if (dryRunRules.has(i)) {
      notices.push({
        path: issuePath(["rules", i, "dry_run"]),
        kind: "inactive",
        message:
          "dry_run: the rule writes nothing (POST /v1/webhooks/{datasource}/dry-run, or varstream dry-run, shows what it would)",
      });
      return;
    }
    if (written.length === 0) return;
    rules.push({ ...rule, datasource: written, ...(everyFile ? { file_patterns: ["**"] } : {}) });
  });
  let schemaRegistry: SchemaRegistryConfig | undefined;
  if (raw.schema_registry) {
    const reg = raw.schema_registry;
    const platform = platforms.get(reg.platform);
    if (!platform) throw new BundleError("bundle.schema_registry.platform", `no platform named ${reg.platform}`);
    const base = platform.config.endpoint.replace(/\/+$/, "");
    const url = reg.url ?? (base.startsWith("file:") ? `${base}/${reg.repo}` : `${base}/${reg.repo}.git`);
    schemaRegistry = { platform: reg.platform, repo: reg.repo, branch: reg.branch, url };
  }
  return {
    platforms,
    datasources,
    rules,
    ...(schemaRegistry ? { schemaRegistry } : {}),
    ...(raw.secret_managers ? { secretManagers: raw.secret_managers } : {}),
    controlPlane: raw.control_plane ?? { tokens: [], open_metrics: false },
    notices,
    unsupported,
  };
}

/** A datasource by its name (`<kind>` or `<kind>-<tag>`) or, as varTrack allows, its bare tag when one entry has it. */
export function resolveDatasource(name: string, datasources: Map<string, DatasourceEntry>): string | undefined {
  if (datasources.has(name)) return name;
  // varTrack's linux_server is varstream's ssh sink.
  const ssh = name.replace(/^linux_server(?=-|$)/, "ssh");
  if (datasources.has(ssh)) return ssh;
  const tagged = [...datasources.values()].filter((d) => (d.config as { tag?: string }).tag === name);
  return tagged.length === 1 ? tagged[0]!.name : undefined;
}

/**
 * Loads the bundle at `path`: `.cue` evaluated by the real CUE evaluator (so a bundle can
 * use references, defaults and constraints), `.json` or `.yaml`/`.yml`; then decoded strictly.
 */
export async function loadBundle(path: string): Promise<Bundle> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new BundleError(path, `cannot read: ${(err as Error).message}`);
  }
  const ext = extname(path).toLowerCase();
  let doc: unknown;
  try {
    if (ext === ".cue") {
      const cue = await loadCue();
      const result = await cue.evaluate(text, { filename: path });
      if (!result.ok) {
        const [first] = result.errors;
        const at = first?.line === undefined ? "" : ` (${path}:${first.line}:${first.column})`;
        throw new BundleError(first?.path || "bundle", `${first?.message ?? "invalid CUE"}${at}`);
      }
      doc = result.value;
    } else if (ext === ".json") doc = JSON.parse(text);
    else if (ext === ".yaml" || ext === ".yml") doc = parseYaml(text, { maxAliasCount: 100 });
    else throw new BundleError(path, `unsupported bundle format ${ext || "(none)"}; use .cue, .json or .yaml`);
  } catch (err) {
    if (err instanceof BundleError) throw err;
    throw new BundleError(path, `cannot parse: ${(err as Error).message}`);
  }
  return decodeBundle(doc);
}

/** Logs, once at a service's start, what the bundle says that varstream does not act on, maps or leaves inactive. */
export function reportNotices(bundle: Bundle, logger: Logger): void {
  if (bundle.notices.length === 0) return;
  const by = (kind: BundleNotice["kind"]) =>
    bundle.notices.filter((n) => n.kind === kind).map((n) => `${n.path}: ${n.message}`);
  const unused = by("unused");
  const mapped = by("mapped");
  const inactive = [...by("unsupported"), ...by("inactive")];
  if (unused.length > 0) logger.warn({ fields: unused }, "bundle fields accepted, not used");
  if (mapped.length > 0) logger.info({ fields: mapped }, "bundle fields mapped from varTrack's dialect");
  if (inactive.length > 0) logger.warn({ entries: inactive }, "bundle entries not supported yet or inactive");
}
