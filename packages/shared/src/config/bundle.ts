import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { loadCue } from "@varstream/cue";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { Platform } from "../contracts/event.ts";
import { SyncMode } from "../contracts/keyset.ts";
import { SecretManagers, SecretRef } from "./secret.ts";

/**
 * The configuration bundle (SPEC §7): `bundle: {platforms, datasources, rules, …}`. Platforms and
 * datasources are lists of `{<kind>: {…}}` entries, named `<kind>` or `<kind>-<tag>`.
 */

/** An entry's tag: the entry is then named `<kind>-<tag>`. */
const Tag = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]*$/)
  .optional();

const PlatformConfig = z
  .object({
    tag: Tag,
    endpoint: z.string().min(1),
    secret: SecretRef.optional(),
    token: SecretRef.optional(),
    username: SecretRef.optional(),
    password: SecretRef.optional(),
    /** a private key for ssh:// clone URLs */
    ssh_key: SecretRef.optional(),
  })
  .strict();

const FileSinkConfig = z
  .object({
    tag: Tag,
    path: z.string().min(1),
    format: z.enum(["json", "yaml", "env", "properties"]).default("json"),
  })
  .strict();

const RedisSinkConfig = z
  .object({
    tag: Tag,
    host: z.string().default("127.0.0.1"),
    port: z.number().int().positive().default(6379),
    db: z.number().int().nonnegative().default(0),
    username: SecretRef.optional(),
    password: SecretRef.optional(),
    tls: z.boolean().default(false),
    /** with tls: the CA (PEM) that signed the server's certificate, when it is not a public one */
    tls_ca: SecretRef.optional(),
    /** hash: HSET <destination> key value; string: SET <destination>:<key> value; json: one JSON value */
    layout: z.enum(["hash", "string", "json"]).default("hash"),
    /** string layout: keys expire after this many seconds (re-set at every apply that writes them) */
    ttl_seconds: z.number().int().positive().optional(),
  })
  .strict();

const PostgresSinkConfig = z
  .object({
    tag: Tag,
    host: z.string().default("127.0.0.1"),
    port: z.number().int().positive().default(5432),
    database: z.string().min(1).default("postgres"),
    user: SecretRef.default("postgres"),
    password: SecretRef.optional(),
    /** TLS to the server, its certificate verified (against ssl_ca when given) */
    ssl: z.boolean().default(false),
    /** with ssl: the CA (PEM) that signed the server's certificate, when it is not a public one */
    ssl_ca: SecretRef.optional(),
    /** the data table, created if missing; manifests go to `<table>_manifests` */
    table: z
      .string()
      .regex(
        /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/,
        "a table name: lower case letters, digits, _ (schema.table allowed)",
      )
      .default("varstream_config"),
  })
  .strict();

const EtcdSinkConfig = z
  .object({
    tag: Tag,
    /** `https://` hosts connect over TLS */
    hosts: z.array(z.string().min(1)).min(1).default(["http://127.0.0.1:2379"]),
    username: SecretRef.optional(),
    password: SecretRef.optional(),
    /** for https hosts: the CA (PEM) that signed the servers' certificates, when it is not a public one */
    tls_ca: SecretRef.optional(),
    /** prefix of every key varstream writes, before the destination */
    prefix: z.string().default(""),
  })
  .strict();

const SshSinkConfig = z
  .object({
    tag: Tag,
    host: z.string().min(1),
    port: z.number().int().positive().default(22),
    username: z.string().min(1),
    private_key: SecretRef.optional(),
    password: SecretRef.optional(),
    /** the server's host key, `SHA256:<base64>` as ssh-keygen -lf prints it; any other key is refused */
    host_key_sha256: z
      .string()
      .regex(/^SHA256:[A-Za-z0-9+/]+$/)
      .optional(),
    /** the remote folder; one file per destination under it */
    path: z.string().min(1),
    format: z.enum(["json", "yaml", "env", "properties"]).default("env"),
    /** runs on the new file before it replaces the old one; `{file}` is its path; non-zero keeps the old file */
    validate_command: z.string().min(1).optional(),
    /** runs after a file changed; `{file}` is its path */
    reload_command: z.string().min(1).optional(),
  })
  .strict()
  .refine((c) => c.private_key !== undefined || c.password !== undefined, "ssh needs private_key or password");

const ZookeeperSinkConfig = z
  .object({
    tag: Tag,
    /** the connection string, `host:port[,host:port…][/chroot]` */
    connect: z.string().min(1).default("127.0.0.1:2181"),
    /**
     * digest authentication (`username:password`); znodes varstream creates are then writable by that
     * user only and readable by everyone (CREATOR_ALL + world READ)
     */
    username: SecretRef.optional(),
    password: SecretRef.optional(),
    /** how a value is stored in its znode: its canonical text, or JSON (types kept) */
    encoding: z.enum(["text", "json"]).default("text"),
    /** the znode every destination lives under */
    root: z
      .string()
      .regex(/^\/([^/]+(\/[^/]+)*)?$/, "an absolute znode path")
      .default("/varstream"),
  })
  .strict();

export const SINK_KINDS = {
  file: FileSinkConfig,
  redis: RedisSinkConfig,
  postgres: PostgresSinkConfig,
  etcd: EtcdSinkConfig,
  ssh: SshSinkConfig,
  zookeeper: ZookeeperSinkConfig,
} as const;
export type SinkKind = keyof typeof SINK_KINDS;
export type FileSinkConfig = z.infer<typeof FileSinkConfig>;
export type RedisSinkConfig = z.infer<typeof RedisSinkConfig>;
export type PostgresSinkConfig = z.infer<typeof PostgresSinkConfig>;
export type EtcdSinkConfig = z.infer<typeof EtcdSinkConfig>;
export type SshSinkConfig = z.infer<typeof SshSinkConfig>;
export type ZookeeperSinkConfig = z.infer<typeof ZookeeperSinkConfig>;

/** varTrack's sync mode names map onto varstream's three (SPEC §5.3). */
const SYNC_MODE_ALIASES: Record<string, SyncMode> = {
  SYNC_MODE_GIT_UPSERT_ALL: "upsert",
  SYNC_MODE_GIT_SMART_REPAIR: "mirror",
  SYNC_MODE_LIVE_STATE: "repair",
  SYNC_MODE_AUTO: "mirror",
};

const RuleSyncMode = z.string().transform((v, ctx) => {
  const mode = SYNC_MODE_ALIASES[v] ?? v;
  const parsed = SyncMode.safeParse(mode);
  if (!parsed.success) {
    ctx.addIssue({ code: "custom", message: `unknown sync_mode ${v}` });
    return z.NEVER;
  }
  return parsed.data;
});

export const TEMPLATE_PLACEHOLDERS = ["tenant", "env", "repo", "file_stem"] as const;

const DestinationTemplate = z
  .string()
  .min(1)
  .superRefine((template, ctx) => {
    for (const match of template.matchAll(/\{([^}]*)\}/g)) {
      if (!(TEMPLATE_PLACEHOLDERS as readonly string[]).includes(match[1] ?? "")) {
        ctx.addIssue({
          code: "custom",
          message: `unknown placeholder {${match[1]}}; known: ${TEMPLATE_PLACEHOLDERS.map((p) => `{${p}}`).join(" ")}`,
        });
      }
    }
    if (template.includes("|")) ctx.addIssue({ code: "custom", message: "a destination cannot contain '|'" });
  });

const Rule = z
  .object({
    name: z.string().optional(),
    platform: z.string().min(1),
    /**
     * The webhook datasource this rule serves, or several: a rule naming several datasources applies
     * to a webhook of any of them and writes each of them (one task, several sinks).
     */
    datasource: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .transform((v) => (Array.isArray(v) ? v : [v])),
    repositories: z.array(z.string().min(1)).default(["**"]),
    exclude_repositories: z.array(z.string().min(1)).default([]),
    file_name: z.string().min(1).optional(),
    file_patterns: z.array(z.string().min(1)).default([]),
    file_path_map: z.record(z.string(), z.string().min(1)).default({}),
    root_key: z.string().min(1).optional(),
    env_layout: z.enum(["none", "top", "leaf"]).default("none"),
    /** env names this rule knows, besides those of branch_map and file_path_map (for env_layout leaf) */
    envs: z.array(z.string().min(1)).default([]),
    separator: z.string().min(1).default("."),
    destination_template: DestinationTemplate.default("{env}/{file_stem}"),
    tenant: z.string().default("default"),
    prune: z.boolean().default(true),
    protection: z.array(z.string().min(1)).default([]),
    sync_mode: RuleSyncMode.optional(),
    branch_map: z.record(z.string(), z.string().min(1)).default({}),
    env_as_branch: z.boolean().default(false),
    env_as_pr: z.boolean().default(false),
    env_as_tags: z.boolean().default(false),
    labels: z.record(z.string(), z.string()).default({}),
    variables_map: z.record(z.string(), z.string()).default({}),
    /** a file with no schema (`<file>.cue` nor `default.cue`) fails when true, passes unvalidated when false */
    require_schema: z.boolean().default(false),
    /** true: a schema violation fails the file; false: it is written, violations become warnings */
    strict_validation: z.boolean().default(true),
  })
  .strict();
export type Rule = z.infer<typeof Rule>;

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

const RawBundle = z
  .object({
    platforms: z.array(Entry({ github: PlatformConfig, gitea: PlatformConfig, gitlab: PlatformConfig })).default([]),
    datasources: z.array(Entry(SINK_KINDS)).default([]),
    rules: z.array(Rule).default([]),
    schema_registry: z
      .object({
        platform: z.string().min(1),
        repo: z.string().min(1),
        branch: z.string().min(1).default("main"),
        /** the clone URL, when it is not `<platform endpoint>/<repo>` */
        url: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    secret_managers: SecretManagers.optional(),
  })
  .strict();

export interface PlatformEntry {
  name: string;
  kind: Platform;
  config: z.infer<typeof PlatformConfig>;
}

export type DatasourceEntry =
  | { name: string; kind: "file"; config: FileSinkConfig }
  | { name: string; kind: "redis"; config: RedisSinkConfig }
  | { name: string; kind: "postgres"; config: PostgresSinkConfig }
  | { name: string; kind: "etcd"; config: EtcdSinkConfig }
  | { name: string; kind: "ssh"; config: SshSinkConfig }
  | { name: string; kind: "zookeeper"; config: ZookeeperSinkConfig };

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
}

export class BundleError extends Error {
  override name = "BundleError";
  readonly path: string;
  readonly reason: string;
  constructor(path: string, reason: string) {
    super(`bundle ${path}: ${reason}`);
    this.path = path;
    this.reason = reason;
  }
}

function issuePath(path: readonly PropertyKey[]): string {
  return ["bundle", ...path.map((p) => (typeof p === "number" ? `[${p}]` : String(p)))].join(".").replaceAll(".[", "[");
}

function parseStrict<T extends z.ZodType>(schema: T, value: unknown, at: (string | number)[]): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const extra = issue.code === "unrecognized_keys" ? ` (${issue.keys.join(", ")})` : "";
    throw new BundleError(issuePath([...at, ...(issue.path as (string | number)[])]), issue.message + extra);
  }
  return result.data;
}

/** Validates a decoded bundle document (`{bundle: {…}}` or the bare inner object) into a {@link Bundle}. */
export function decodeBundle(doc: unknown): Bundle {
  const inner = doc !== null && typeof doc === "object" && "bundle" in doc ? (doc as { bundle: unknown }).bundle : doc;
  const raw = parseStrict(RawBundle, inner, []);
  const platforms = new Map<string, PlatformEntry>();
  raw.platforms.forEach((entry, i) => {
    const kind = Platform.parse(Object.keys(entry)[0]);
    const config = parseStrict(PlatformConfig, entry[kind], ["platforms", i, kind]);
    const name = config.tag ? `${kind}-${config.tag}` : kind;
    if (platforms.has(name)) throw new BundleError(issuePath(["platforms", i]), `duplicate platform name ${name}`);
    platforms.set(name, { name, kind, config });
  });
  const datasources = new Map<string, DatasourceEntry>();
  raw.datasources.forEach((entry, i) => {
    const kind = Object.keys(entry)[0] as SinkKind;
    const config = parseStrict(SINK_KINDS[kind], entry[kind], ["datasources", i, kind]);
    const name = config.tag ? `${kind}-${config.tag}` : kind;
    if (datasources.has(name)) {
      throw new BundleError(issuePath(["datasources", i]), `duplicate datasource name ${name}`);
    }
    datasources.set(name, { name, kind, config } as DatasourceEntry);
  });
  raw.rules.forEach((rule, i) => {
    if (!platforms.has(rule.platform)) {
      throw new BundleError(issuePath(["rules", i, "platform"]), `no platform named ${rule.platform}`);
    }
    const missing = rule.datasource.find((name) => !datasources.has(name));
    if (missing !== undefined) {
      throw new BundleError(issuePath(["rules", i, "datasource"]), `no datasource named ${missing}`);
    }
    if (!rule.file_name && rule.file_patterns.length === 0 && Object.keys(rule.file_path_map).length === 0) {
      throw new BundleError(issuePath(["rules", i]), "a rule needs file_name, file_patterns or file_path_map");
    }
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
    rules: raw.rules,
    ...(schemaRegistry ? { schemaRegistry } : {}),
    ...(raw.secret_managers ? { secretManagers: raw.secret_managers } : {}),
  };
}

/**
 * Loads the bundle at `path` (SPEC §7): `.cue` evaluated by the real CUE evaluator (so a bundle can
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
