import { dirname } from "node:path/posix";
import { BundleError } from "../error.ts";
import {
  type Check,
  DATA_STRUCTURE,
  DEPLOYMENT_MODE,
  durationMs,
  enumName,
  mismatch,
  SECRET_ID_TYPE,
  STRATEGY,
} from "./proto.ts";

/**
 * varTrack's bundle dialect: the fields of its protos (`proto/vartrack/v1/models/**`) and the spellings
 * its own examples use, turned into varstream's bundle before the strict decoding. A field varstream
 * acts on the same way passes as it is; one with another spelling or shape is mapped; one varstream
 * does not act on is checked against its proto type, taken out, and listed as a notice: never silently.
 * Anything else passes through untouched, so the strict decoding refuses it with its path.
 */

export type NoticeKind = "unused" | "mapped" | "unsupported" | "inactive";

export interface BundleNotice {
  /** where, e.g. `bundle.platforms[0].github.verify_ssl` */
  path: string;
  kind: NoticeKind;
  message: string;
}

/** A datasource of a kind varstream has no sink for yet: loaded, named, and its rules left inactive. */
export interface UnsupportedDatasource {
  name: string;
  tag?: string;
  kind: string;
  path: string;
}

type Obj = Record<string, unknown>;
interface Ctx {
  /** the translated object being built */
  out: Obj;
  path: string;
  note(kind: NoticeKind, message: string): void;
}
/** keep: varstream's field of that name means the same; unused: checked, taken out, listed; output: set by varTrack's server, never by a bundle */
type Use = "keep" | "unused" | "output" | ((value: never, ctx: Ctx) => void);
type Table = Record<string, readonly [Check, Use]>;

/** The retry fields most of varTrack's connection messages carry; varstream retries by its own policy. */
const RETRY_FIELDS: Table = {
  max_retries: ["uint", "unused"],
  retry_backoff: ["duration", "unused"],
};

const isObject = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

const UNUSED_WHY: Record<string, string> = {
  output: "set by varTrack's server, not by a bundle",
};

function translate(input: unknown, table: Table, path: string, notices: BundleNotice[]): unknown {
  if (!isObject(input)) return input;
  const out: Obj = {};
  const ctx: Ctx = {
    out,
    path,
    note: (kind, message) => notices.push({ path, kind, message }),
  };
  for (const [key, value] of Object.entries(input)) {
    const spec = table[key];
    if (!spec) {
      out[key] = value;
      continue;
    }
    const [check, use] = spec;
    const at = `${path}.${key}`;
    if (use === "keep") {
      out[key] = value;
      continue;
    }
    const wrong = mismatch(check, value);
    if (wrong) throw new BundleError(at, wrong);
    const named = enumName(check, value) ?? value;
    if (use === "unused" || use === "output") {
      notices.push({ path: at, kind: "unused", message: UNUSED_WHY[use] ?? "accepted, not used" });
      continue;
    }
    use(named as never, { ...ctx, path: at, note: (kind, message) => notices.push({ path: at, kind, message }) });
  }
  return out;
}

/** the value, kept under varstream's name for it */
const as =
  (field: string) =>
  (value: unknown, { out }: Ctx): void => {
    out[field] = value;
  };

/** a string that is a PEM itself, or the path of one */
const pemOrFile = (text: string) => (text.includes("-----BEGIN") ? text : { file: text });

const emptyTagIsNone: readonly [Check, Use] = [
  "string",
  (tag: string, { out }) => {
    if (tag !== "") out.tag = tag;
  },
];

/** The fields every varTrack datasource message varstream has a sink for starts with. */
const SINK_FIELDS: Table = {
  key_format: [{ enum: ["dot", "flat", "slash", "slash_dot"] }, "unused"],
  tag: emptyTagIsNone,
  ...RETRY_FIELDS,
};

/** Refuses an empty list where varTrack needs one entry at least. */
function atLeastOne(list: string[], path: string, what: string): void {
  if (list.length === 0) throw new BundleError(path, `needs at least one ${what}`);
}

/** A varTrack SecretRef as a varstream credential: `{value: "…"}` is the literal. */
const credentialOf = (ref: unknown): unknown =>
  isObject(ref) && typeof ref.value === "string" && Object.keys(ref).length === 1 ? ref.value : ref;

/** a SecretRef, kept under varstream's name for the credential */
const secretAs =
  (field: string) =>
  (ref: unknown, { out }: Ctx): void => {
    out[field] = credentialOf(ref);
  };

/** an address field where proto3's empty string means unset */
const unlessEmpty =
  (field: string) =>
  (value: string, { out }: Ctx): void => {
    if (value !== "") out[field] = value;
  };

const PLATFORM: Table = {
  tag: emptyTagIsNone,
  protocol: [{ enum: ["ssh", "http", "https"] }, "unused"],
  org_name: ["string", "unused"],
  verify_ssl: ["bool", "unused"],
  timeout: ["duration", "unused"],
  max_retries: ["uint", "unused"],
  page_size: ["uint", "unused"],
  event_type_header: ["string", "output"],
  git_scm_signature: ["string", "output"],
  delivery_header: ["string", "output"],
  push_event_name: ["string", "output"],
  pr_event_name: ["string", "output"],
};

const hostPort = (address: string, defaultPort: number, at: string) => {
  const m = address.match(/^(?:redis:\/\/)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/);
  if (!m) throw new BundleError(at, `${address} is not host:port`);
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port: m[2] ? Number(m[2]) : defaultPort };
};

const REDIS: Table = {
  ...SINK_FIELDS,
  hosts: [
    "strings",
    (hosts: string[], { out, path }) => {
      atLeastOne(hosts, path, "host");
      const { host, port } = hostPort(hosts[0]!, 6379, `${path}[0]`);
      out.host = host;
      out.port = port;
      // More hosts are the members of a cluster or sentinel set; mode decides (below).
      out["~hosts"] = hosts; // more than one: the members of a cluster or sentinel set; mode decides (below)
    },
  ],
  database: [
    "uint",
    (db: number, { out, path }) => {
      if (db > 15) throw new BundleError(path, "must be 0..15");
      out.db = db;
    },
  ],
  mode: [DEPLOYMENT_MODE, as("~mode")],
  deployment_mode: [DEPLOYMENT_MODE, as("~mode")],
  sentinel_master: ["string", "keep"],
  key_prefix: ["string", "unused"],
  env_as_key_prefix: ["bool", "unused"],
  key_separator: ["string", "unused"],
  update_strategy: [STRATEGY, "unused"],
  data_structure: [
    DATA_STRUCTURE,
    (kind: string, { out }) => {
      if (kind !== "DATA_STRUCTURE_UNSPECIFIED") out.layout = kind.toLowerCase();
    },
  ],
  hash_key: ["string", "unused"],
  ttl: [
    "duration",
    (ttl: string | number, { out }) => {
      const seconds = Math.ceil(durationMs(ttl) / 1000);
      if (seconds > 0) out.ttl_seconds = seconds;
    },
  ],
  max_connections: ["uint", "unused"],
  min_idle_connections: ["uint", "unused"],
  connection_timeout: ["duration", "unused"],
  read_timeout: ["duration", "unused"],
  write_timeout: ["duration", "unused"],
  enable_tls: ["bool", as("tls")],
  tls_ca_cert: [
    "string",
    (ca: string, { out }) => {
      out.tls_ca = pemOrFile(ca);
    },
  ],
  tls_client_cert: ["string", "unused"],
  tls_client_key: ["string", "unused"],
  insecure_skip_verify: ["bool", "unused"],
  enable_pipeline: ["bool", "unused"],
  pipeline_batch_size: ["uint", "unused"],
};

const ZOOKEEPER: Table = {
  ...SINK_FIELDS,
  hosts: [
    "strings",
    (hosts: string[], { out, path }) => {
      atLeastOne(hosts, path, "host");
      out.connect = hosts.join(",");
      out["~vartrack"] = true;
    },
  ],
  base_path: [
    "string",
    (base: string, { out, path }) => {
      if (!/^\/([^/]+(\/[^/]+)*)?$/.test(base)) throw new BundleError(path, `${base} is not an absolute znode path`);
      out.root = base;
    },
  ],
  env_as_path: ["bool", "unused"],
  auth_scheme: ["string", "unused"],
  session_timeout: ["duration", "unused"],
  connection_timeout: ["duration", "unused"],
  update_strategy: [STRATEGY, "unused"],
  world_readable: ["bool", "unused"],
  acl_scheme: ["string", "unused"],
  acl_id: ["string", "unused"],
  ephemeral: ["bool", "unused"],
  sequential: ["bool", "unused"],
  encoding: [
    // varTrack's json/plain/base64, and varstream's own text
    { enum: ["json", "plain", "base64", "text", ""] },
    (encoding: string, { out, note }) => {
      if (encoding === "json" || encoding === "text") out.encoding = encoding;
      else if (encoding === "base64") note("unused", "base64: values are stored as text");
    },
  ],
};

const LINUX_SERVER: Table = {
  ...SINK_FIELDS,
  user: ["string", as("username")],
  ssh_key: [
    "message",
    (key: Obj, { out, path, note }) => {
      if (key.private_key === undefined) throw new BundleError(`${path}.private_key`, "is required");
      const wrong = mismatch("secret", key.private_key);
      if (wrong) throw new BundleError(`${path}.private_key`, wrong);
      out.private_key = credentialOf(key.private_key);
      for (const extra of Object.keys(key)) {
        if (extra === "private_key") continue;
        if (extra !== "passphrase" && extra !== "key_type")
          throw new BundleError(`${path}.${extra}`, "is not a field of SSHKeyAuth");
        note("unused", `${extra}: accepted, not used`);
      }
    },
  ],
  file_paths: [
    "strings",
    (paths: string[], { out, path }) => {
      atLeastOne(paths, path, "path");
      out["~file_paths"] = paths;
    },
  ],
  base_directory: ["string", as("path")],
  base_path: ["string", as("path")],
  env_as_path: ["bool", "unused"],
  update_strategy: [STRATEGY, "unused"],
  file_mode: ["string", unlessEmpty("file_mode")],
  file_owner: ["string", unlessEmpty("owner")],
  create_directories: ["bool", "unused"],
  backup_before_write: ["bool", "unused"],
  backup_suffix: ["string", "unused"],
  validation_command: ["string", as("validate_command")],
  rollback_on_validation_fail: ["bool", "unused"],
  post_write_commands: [
    "strings",
    (cmds: string[], { out }) => {
      if (cmds.length > 0) out.reload_command = cmds.join(" && ");
    },
  ],
  continue_on_command_error: ["bool", "unused"],
  connection_timeout: ["duration", "unused"],
  command_timeout: ["duration", "unused"],
  host_key_verification: [{ enum: ["strict", "accept-new", "off", ""] }, "unused"],
  known_hosts_file: ["string", "unused"],
  use_sudo: ["bool", as("sudo")],
  sudo_password: ["secret", "unused"],
  use_sftp: ["bool", "unused"],
  enable_compression: ["bool", "unused"],
};

/** MongoConfig: the server's address and TLS mapped onto the mongo sink's `uri` and `tls`. */
const MONGO: Table = {
  ...SINK_FIELDS,
  endpoint: ["string", as("~endpoint")],
  host: ["string", as("~host")],
  port: [
    "uint",
    (port: number, { out, path }) => {
      if (port > 65535) throw new BundleError(path, "must be 1..65535");
      if (port > 0) out["~port"] = port; // proto3: 0 is unset
    },
  ],
  hosts: ["strings", as("~hosts")],
  replica_set: ["string", as("~replica_set")],
  token: ["string", "unused"],
  env_as_collection: ["bool", as("~env_as_collection")],
  update_strategy: [
    STRATEGY,
    (strategy: string, { out, note }) => {
      // varTrack's orchestrator writes a document per key for every strategy but its file strategy.
      if (strategy === "STRATEGY_FILE") out.layout = "file";
      if (strategy === "STRATEGY_DOCUMENT")
        note("mapped", `${strategy}: stored as one document per key, as varTrack's orchestrator writes it`);
    },
  ],
  auth_mechanism: ["string", "unused"],
  ssl: ["bool", as("tls")],
  ssl_ca_path: [
    "string",
    (ca: string, { out }) => {
      if (ca !== "") out.tls_ca = pemOrFile(ca);
    },
  ],
  ssl_cert_path: ["string", "unused"],
  ssl_key_path: ["string", "unused"],
  ssl_allow_invalid_certificates: ["bool", "unused"],
  buffer_size: ["uint", "unused"],
  max_pool_size: [
    "uint",
    (size: number, { out }) => {
      if (size > 0) out.max_pool_size = size;
    },
  ],
  connect_timeout_ms: ["uint", "unused"],
};

/** S3Config (and the spellings of varTrack's examples: endpoint_url, access_key, secret_key). */
const S3: Table = {
  ...SINK_FIELDS,
  endpoint: ["string", unlessEmpty("endpoint")],
  endpoint_url: ["string", unlessEmpty("endpoint")],
  region: ["string", unlessEmpty("region")],
  bucket: [
    "string",
    (bucket: string, { out, path }) => {
      if (bucket === "") throw new BundleError(path, "must not be empty");
      out.bucket = bucket;
    },
  ],
  // varTrack joins its prefix and the rest with "/"
  prefix: [
    "string",
    (prefix: string, { out }) => {
      if (prefix !== "") out.key_prefix = prefix.endsWith("/") ? prefix : `${prefix}/`;
    },
  ],
  access_key_id: ["secret", secretAs("access_key_id")],
  secret_access_key: ["secret", secretAs("secret_access_key")],
  access_key: ["secret", secretAs("access_key_id")],
  secret_key: ["secret", secretAs("secret_access_key")],
  session_token: ["secret", secretAs("session_token")],
  use_iam_role: [
    "bool",
    (iam: boolean, { note }) => {
      if (iam) note("mapped", "no keys: the AWS SDK's own chain (instance role, IRSA, profile) signs the requests");
    },
  ],
  env_as_prefix: ["bool", "unused"],
  update_strategy: [STRATEGY, "unused"],
  one_file_per_key: [
    "bool",
    (perKey: boolean, { note }) => {
      if (perKey) note("mapped", "one object per destination (a JSON document of its keys), not one per key");
    },
  ],
  file_pattern: ["string", "unused"],
  object_metadata: ["map", "unused"],
  content_type: ["string", "unused"],
  server_side_encryption: [{ enum: ["AES256", "aws:kms", ""] }, "unused"],
  kms_key_id: ["string", "unused"],
  sse_kms_key_id: ["string", "unused"],
  enable_versioning: ["bool", "unused"],
  version_id: ["string", "unused"],
  force_path_style: ["bool", "keep"],
  timeout: ["duration", "unused"],
  max_concurrency: ["uint", "unused"],
  part_size: ["uint", "unused"],
  verify_ssl: ["bool", "unused"],
  ssl_ca_cert: ["string", "unused"],
};

/** Every field of a message whose values are only checked: a datasource kind varstream has no sink for yet. */
type Shape = Record<string, Check>;

const KUBE: Shape = {
  tag: "string",
  key_format: "string",
  kubeconfig_path: "string",
  api_server: "string",
  token: "secret",
  client_cert: "string",
  client_key: "string",
  ca_cert: "string",
  insecure_skip_verify: "bool",
  context: "string",
  namespace: "string",
  update_strategy: STRATEGY,
  timeout: "duration",
  max_retries: "uint",
};

/** varTrack's sinks varstream has no sink for yet, with their protos' fields. */
const NOT_YET: Record<string, { message: string; fields: Shape; required: string[] }> = {
  configmap: {
    message: "ConfigMapConfig",
    required: ["namespace", "configmap_name"],
    fields: {
      ...KUBE,
      configmap_name: "string",
      env_as_namespace: "bool",
      env_as_name_suffix: "bool",
      flatten_to_keys: "bool",
      data_key: "string",
      data_format: { enum: ["json", "yaml", "properties", ""] },
      labels: "map",
      annotations: "map",
      immutable: "bool",
      on_conflict: { enum: ["CONFLICT_STRATEGY_UNSPECIFIED", "REPLACE", "PATCH", "FAIL"] },
    },
  },
  helm: {
    message: "HelmValuesConfig",
    required: ["namespace", "release_name"],
    fields: {
      ...KUBE,
      release_name: "string",
      chart_name: "string",
      chart_version: "string",
      chart_repo: "string",
      env_as_namespace: "bool",
      env_as_release_suffix: "bool",
      upgrade_strategy: { enum: ["UPGRADE_STRATEGY_UNSPECIFIED", "VALUES_ONLY", "FULL_UPGRADE", "INSTALL_OR_UPGRADE"] },
      wait: "bool",
      wait_timeout: "duration",
      force: "bool",
      cleanup_on_fail: "bool",
      atomic: "bool",
      skip_crds: "bool",
      values_merge_strategy: { enum: ["merge", "replace", ""] },
      values_prefix: "string",
      additional_values_files: "strings",
      no_hooks: "bool",
      dry_run: "bool",
      enable_rollback: "bool",
      max_history: "uint",
      output_format: { enum: ["yaml", "json", ""] },
    },
  },
  vercel: {
    message: "VercelConfig",
    required: ["token", "project_id"],
    fields: {
      key_format: "string",
      tag: "string",
      token: "secret",
      project_id: "string",
      team_id: "string",
      targets: "strings",
      var_type: { enum: ["plain", "secret", "sensitive", ""] },
      api_url: "string",
      update_strategy: STRATEGY,
    },
  },
};

/** Refuses a field or value the message's proto does not have; nothing is kept. */
function checkShape(config: Obj, kind: { message: string; fields: Shape; required: string[] }, at: string): void {
  for (const [key, value] of Object.entries(config)) {
    const check = kind.fields[key];
    if (!check) throw new BundleError(`${at}.${key}`, `is not a field of ${kind.message}`);
    const wrong = mismatch(check, value);
    if (wrong) throw new BundleError(`${at}.${key}`, wrong);
  }
  for (const key of kind.required) {
    if (config[key] === undefined || config[key] === "") throw new BundleError(`${at}.${key}`, "is required");
  }
}

const SYNC_MODES: Record<string, string> = {
  SYNC_MODE_UNSPECIFIED: "",
  AUTO: "SYNC_MODE_AUTO",
  GIT_UPSERT_ALL: "SYNC_MODE_GIT_UPSERT_ALL",
  GIT_SMART_REPAIR: "SYNC_MODE_GIT_SMART_REPAIR",
  LIVE_STATE: "SYNC_MODE_LIVE_STATE",
  // Not in varTrack's enum but in its e2e bundles and schema-registry docs; its orchestrator falls
  // back to AUTO for a mode it does not know.
  SYNC_MODE_FULL: "SYNC_MODE_AUTO",
};

const PRUNE_FIELDS = new Set(["enabled", "last", "dry_run", "protection"]);

/**
 * A rule's Vault in varTrack's spellings — `vault: {address, token | auth_method: "approle", role_id,
 * secret_id}` or one entry of `secrets: {<name>: {type: vault, vault_addr, auth: {type, token | role_id,
 * secret_id}, mount_point, kv_version}}` — as varstream's `secret_managers.vault`.
 */
function ruleVault(v: Obj, note: Ctx["note"]): Obj | undefined {
  if (typeof v.address !== "string" || v.address === "") {
    note("unused", "a Vault without an address: not used");
    return undefined;
  }
  const out: Obj = { address: v.address };
  if (typeof v.mount === "string" && v.mount !== "") out.mount = v.mount;
  if (v.kv_version === 1 || v.kv_version === 2) out.kv_version = v.kv_version;
  const method = v.auth_method ?? v.type ?? "token";
  if (method === "approle" && typeof v.role_id === "string" && v.secret_id !== undefined) {
    out.approle = { role_id: v.role_id, secret_id: credentialOf(v.secret_id) };
  } else if (method === "token" && v.token !== undefined) {
    out.token = credentialOf(v.token);
  } else {
    // kubernetes, userpass, a token from the environment…: varstream logs in with a token or AppRole.
    note(
      "unused",
      `Vault auth ${String(method)} without what varstream logs in with (a token, or AppRole's role_id and secret_id): not used`,
    );
    return undefined;
  }
  return out;
}

const RULE: Table = {
  root_key: [
    "string",
    (key: string, { out }) => {
      if (key !== "") out.root_key = key;
    },
  ],
  secret_manager: ["string", "unused"],
  retry_backoff: ["duration", "unused"],
  last_applied_at: ["timestamp", "output"],
  // The Vault varTrack's examples give a rule for its @secret() values: varstream's one Vault (below).
  vault: [
    "message",
    (vault: Obj, { out, note }) => {
      const mapped = ruleVault(vault, note);
      if (mapped && out["~vault"] !== undefined) note("unused", "the rule's vault is used; its secrets are not");
      if (mapped) out["~vault"] = mapped;
    },
  ],
  secrets: [
    "message",
    (secrets: Obj, { out, note }) => {
      const [name, first] = Object.entries(secrets)[0] ?? [];
      if (name === undefined || !isObject(first)) return note("unused", "names no secret backend: not used");
      if (first.type !== undefined && first.type !== "vault")
        return note("unused", `${String(first.type)}: not used (varstream reads one Vault)`);
      if (out["~vault"] !== undefined) return note("unused", "the rule's vault is used; its secrets are not");
      const mapped = ruleVault(
        {
          address: first.vault_addr,
          ...(isObject(first.auth) ? first.auth : {}),
          ...(first.mount_point === undefined ? {} : { mount: first.mount_point }),
          ...(first.kv_version === undefined ? {} : { kv_version: first.kv_version }),
        },
        note,
      );
      if (mapped) out["~vault"] = mapped;
      if (first.path_prefix !== undefined)
        note("unused", "path_prefix: accepted, not used (a @secret() reference names the secret's whole path)");
      if (Object.keys(secrets).length > 1) note("unused", "only the first backend is read");
    },
  ],
  dry_run: [
    "bool",
    (dry: boolean, { out }) => {
      if (dry) out["~dry_run"] = true;
    },
  ],
  sync_mode: [
    "string",
    (mode: string, { out, note }) => {
      const name = SYNC_MODES[mode] ?? mode;
      if (mode === "SYNC_MODE_FULL")
        note("mapped", "SYNC_MODE_FULL is not in varTrack's enum: synced as SYNC_MODE_AUTO");
      if (name !== "") out.sync_mode = name;
    },
  ],
};

function translatePrune(value: unknown, out: Obj, at: string, notices: BundleNotice[]): void {
  if (typeof value === "boolean") {
    out.prune = value;
    return;
  }
  if (!isObject(value)) throw new BundleError(at, "must be true, false or {enabled, last, dry_run, protection}");
  for (const [key, v] of Object.entries(value)) {
    if (!PRUNE_FIELDS.has(key)) throw new BundleError(`${at}.${key}`, "is not a field of PruneConfig");
    const wrong = mismatch(key === "protection" ? "strings" : "bool", v);
    if (wrong) throw new BundleError(`${at}.${key}`, wrong);
  }
  // The structured form turns pruning on unless it says enabled: false; a dry-run prune deletes nothing.
  const dry = value.dry_run === true;
  out.prune = value.enabled !== false && !dry;
  if (dry)
    notices.push({ path: `${at}.dry_run`, kind: "mapped", message: "prune candidates are not deleted: prune off" });
  if (value.last !== undefined) {
    notices.push({
      path: `${at}.last`,
      kind: "unused",
      message: "accepted, not used: varstream prunes each file's own keys when that file is applied",
    });
  }
  if (Array.isArray(value.protection)) {
    out.protection = [...((out.protection as string[] | undefined) ?? []), ...(value.protection as string[])];
  }
}

function translateOverrides(value: unknown, out: Obj, at: string, notices: BundleNotice[]): void {
  if (!Array.isArray(value))
    throw new BundleError(at, "must be a list of {match_repositories, exclude_repositories, enable}");
  value.forEach((o, i) => {
    const here = `${at}[${i}]`;
    if (!isObject(o)) throw new BundleError(here, "must be an object");
    for (const [key, v] of Object.entries(o)) {
      const check: Check | undefined =
        key === "enable"
          ? "bool"
          : key === "match_repositories" || key === "exclude_repositories"
            ? "strings"
            : undefined;
      if (!check) throw new BundleError(`${here}.${key}`, "is not a field of RepositoryOverride");
      const wrong = mismatch(check, v);
      if (wrong) throw new BundleError(`${here}.${key}`, wrong);
    }
    if (o.enable === false) {
      const match = (o.match_repositories as string[] | undefined) ?? [];
      if ((o.exclude_repositories as string[] | undefined)?.length) {
        throw new BundleError(
          `${here}.exclude_repositories`,
          "an override that disables a rule with exceptions cannot be expressed yet: list the repositories to disable",
        );
      }
      out.exclude_repositories = [...((out.exclude_repositories as string[] | undefined) ?? []), ...match];
      notices.push({ path: here, kind: "mapped", message: `the rule never applies to ${match.join(", ")}` });
    } else {
      notices.push({ path: here, kind: "unused", message: "enable: true: the rule already applies where it matches" });
    }
  });
}

const SCHEMA_REGISTRY: Table = { secret_manager: ["string", "unused"] };

const VAULT: Table = {
  tag: ["string", "unused"],
  endpoint: ["string", as("address")],
  mount_point: ["string", as("mount")],
  token_auth: [
    "message",
    (auth: Obj, { out, path }) => {
      if (typeof auth.token !== "string" && !isObject(auth.token))
        throw new BundleError(`${path}.token`, "is required");
      out.token = auth.token;
    },
  ],
  app_role_auth: [
    "message",
    (auth: Obj, { out, path }) => {
      for (const f of ["role_id", "secret_id"]) {
        if (typeof auth[f] !== "string") throw new BundleError(`${path}.${f}`, "is required");
      }
      const type = auth.secret_id_type ?? "PLAIN";
      const wrong = mismatch(SECRET_ID_TYPE, type);
      if (wrong) throw new BundleError(`${path}.secret_id_type`, wrong);
      out.approle = {
        role_id: auth.role_id,
        secret_id: type === "ENVIRONMENT" ? { env: auth.secret_id } : auth.secret_id,
        ...(typeof auth.mount_path === "string" ? { mount: auth.mount_path } : {}),
      };
    },
  ],
  kubernetes_auth: ["message", "unused"],
  userpass_auth: ["message", "unused"],
  verify_ssl: ["bool", "unused"],
  ssl_ca: ["string", "unused"],
  ssl_cert: ["string", "unused"],
  ssl_key: ["string", "unused"],
  timeout: ["duration", "unused"],
  ...RETRY_FIELDS,
};

const BUNDLE: Table = {
  loaded_at: ["timestamp", "output"],
  auth: ["message", "unused"],
  monitoring: ["message", "unused"],
  celery_broker_datasource: ["string", "unused"],
  celery_backend_datasource: ["string", "unused"],
  gateway_nonce_datasource: ["string", "unused"],
  watcher_state_datasource: ["string", "unused"],
  watcher_leader_election_datasource: ["string", "unused"],
  max_webhook_body_bytes: ["uint", "unused"],
  // Not in the Bundle proto; varTrack's own gateway config (gateway-service/config.cue) sets it.
  orchestrator: ["message", "unused"],
};

export interface Translated {
  /** the bundle in varstream's own shape, for the strict decoding */
  bundle: unknown;
  notices: BundleNotice[];
  unsupported: UnsupportedDatasource[];
  /** rules (by index) that write nothing: `dry_run: true` */
  dryRunRules: Set<number>;
}

function translateEntry(
  entry: unknown,
  at: string,
  kinds: Record<string, { table: Table; as?: string }>,
  notices: BundleNotice[],
): unknown {
  if (!isObject(entry) || Object.keys(entry).length !== 1) return entry;
  const [kind] = Object.keys(entry) as [string];
  const known = kinds[kind];
  if (!known) {
    // varTrack names an entry of tag "" by its kind alone, whatever the kind.
    const config = entry[kind];
    if (isObject(config) && config.tag === "") {
      const { tag: _empty, ...rest } = config;
      return { [kind]: rest };
    }
    return entry;
  }
  return { [known.as ?? kind]: translate(entry[kind], known.table, `${at}.${kind}`, notices) };
}

/** Turns a bundle, varTrack's dialect or varstream's own, into varstream's shape (see the module's comment). */
export function translateBundle(input: unknown): Translated {
  const notices: BundleNotice[] = [];
  const unsupported: UnsupportedDatasource[] = [];
  const dryRunRules = new Set<number>();
  if (!isObject(input)) return { bundle: input, notices, unsupported, dryRunRules };
  const out = translate(input, BUNDLE, "bundle", notices) as Obj;

  if (Array.isArray(out.platforms)) {
    out.platforms = out.platforms.map((p, i) =>
      translateEntry(
        p,
        `bundle.platforms[${i}]`,
        { github: { table: PLATFORM }, gitea: { table: PLATFORM }, gitlab: { table: PLATFORM } },
        notices,
      ),
    );
  }

  if (Array.isArray(out.datasources)) {
    const kept: unknown[] = [];
    out.datasources.forEach((d, i) => {
      const at = `bundle.datasources[${i}]`;
      if (isObject(d) && Object.keys(d).length === 1 && Object.keys(d)[0]! in NOT_YET) {
        const [kind] = Object.keys(d) as [string];
        const config = d[kind];
        if (!isObject(config)) throw new BundleError(`${at}.${kind}`, "must be an object");
        checkShape(config, NOT_YET[kind]!, `${at}.${kind}`);
        const tag = typeof config.tag === "string" && config.tag !== "" ? config.tag : undefined;
        unsupported.push({ name: tag ? `${kind}-${tag}` : kind, ...(tag ? { tag } : {}), kind, path: at });
        notices.push({
          path: at,
          kind: "unsupported",
          message: `${kind}: not supported yet; the rules writing it are inactive`,
        });
        return;
      }
      const translated = translateEntry(
        d,
        at,
        {
          redis: { table: REDIS },
          zookeeper: { table: ZOOKEEPER },
          linux_server: { table: LINUX_SERVER, as: "ssh" },
          mongo: { table: MONGO },
          s3: { table: S3 },
        },
        notices,
      );
      // varTrack's linux_server writes a destination_template such as /etc/app/{env}.env as that file.
      if (isObject(d) && isObject(d.linux_server) && isObject(translated) && isObject(translated.ssh))
        translated.ssh.absolute_paths ??= true;
      kept.push(finishDatasource(translated, at, notices, unsupported));
    });
    out.datasources = kept.filter((d) => d !== undefined);
  }

  const ruleVaults: { vault: Obj; path: string }[] = [];
  if (Array.isArray(out.rules)) {
    const tags = isObject(input.global_tags) ? (input.global_tags as Record<string, string>) : undefined;
    out.rules = out.rules.map((r, i) => {
      const at = `bundle.rules[${i}]`;
      if (!isObject(r)) return r;
      const rule = translate(r, RULE, at, notices) as Obj;
      if (r.prune !== undefined) translatePrune(r.prune, rule, `${at}.prune`, notices);
      if (r.overrides !== undefined) {
        delete rule.overrides;
        translateOverrides(r.overrides, rule, `${at}.overrides`, notices);
      }
      if (rule["~dry_run"]) {
        delete rule["~dry_run"];
        dryRunRules.add(i);
      }
      if (rule["~vault"]) {
        ruleVaults.push({ vault: rule["~vault"] as Obj, path: `${at}.${r.vault === undefined ? "secrets" : "vault"}` });
        delete rule["~vault"];
      }
      if (tags && isObject(rule.labels ?? {})) rule.labels = { ...tags, ...((rule.labels as Obj | undefined) ?? {}) };
      return rule;
    });
  }
  if (input.global_tags !== undefined) {
    const wrong = mismatch("map", input.global_tags);
    if (wrong) throw new BundleError("bundle.global_tags", wrong);
    delete out.global_tags;
    notices.push({
      path: "bundle.global_tags",
      kind: "mapped",
      message: "carried as labels on every rule's key sets (a rule's own labels win)",
    });
  }

  if (out.schema_registry !== undefined) {
    out.schema_registry = translate(out.schema_registry, SCHEMA_REGISTRY, "bundle.schema_registry", notices);
  }

  // varTrack lists its secret managers; varstream has one Vault.
  if (Array.isArray(out.secret_managers)) {
    const list = out.secret_managers;
    let vault: unknown;
    list.forEach((m, i) => {
      const at = `bundle.secret_managers[${i}]`;
      if (!isObject(m) || Object.keys(m).length !== 1 || !("vault" in m)) {
        throw new BundleError(at, "a secret manager is {vault: {…}}");
      }
      if (vault !== undefined) {
        notices.push({ path: at, kind: "unused", message: "a second Vault: accepted, not used (varstream reads one)" });
        return;
      }
      vault = translate(m.vault, VAULT, `${at}.vault`, notices);
    });
    out.secret_managers = vault === undefined ? undefined : { vault };
    if (out.secret_managers === undefined) delete out.secret_managers;
  }
  // varstream reads one Vault: the bundle's, else the first a rule names.
  for (const { vault, path } of ruleVaults) {
    const managers = isObject(out.secret_managers) ? out.secret_managers : undefined;
    if (managers?.vault === undefined) {
      out.secret_managers = { ...(managers ?? {}), vault };
      notices.push({
        path,
        kind: "mapped",
        message: "the bundle's Vault (secret_managers.vault): it resolves every @secret()",
      });
    } else if (JSON.stringify(managers.vault) !== JSON.stringify(vault))
      notices.push({ path, kind: "unused", message: "another Vault: accepted, not used (varstream reads one)" });
  }
  return { bundle: out, notices, unsupported, dryRunRules };
}

/** What a datasource's mapped fields still decide together: redis topology, linux_server paths. */
function finishDatasource(
  entry: unknown,
  at: string,
  notices: BundleNotice[],
  unsupported: UnsupportedDatasource[],
): unknown {
  if (!isObject(entry)) return entry;
  const [kind] = Object.keys(entry) as [string];
  const config = entry[kind];
  if (!isObject(config)) return entry;
  if (kind === "redis") {
    const mode = (config["~mode"] as string | undefined) ?? "STANDALONE";
    const hosts = config["~hosts"] as string[] | undefined;
    const master = config.sentinel_master as string | undefined;
    delete config["~mode"];
    delete config["~hosts"];
    // Each host as host:port, with the mode's default port (redis:// prefixes and [v6] brackets dropped).
    const addresses = (defaultPort: number) =>
      (hosts ?? [`${String(config.host ?? "127.0.0.1")}:${String(config.port ?? defaultPort)}`]).map((h, i) => {
        const { host, port } = hostPort(h, defaultPort, `${at}.redis.hosts[${i}]`);
        return `${host}:${port}`;
      });
    if (mode === "SENTINEL") {
      // The hosts are the sentinels; they name the master.
      config.sentinels = addresses(26379);
      delete config.host;
      delete config.port;
      config.sentinel_master = master || "mymaster";
      if (!master)
        notices.push({
          path: `${at}.redis.sentinel_master`,
          kind: "mapped",
          message: "no sentinel_master: the master named mymaster (Redis's own default name)",
        });
      return entry;
    }
    // varstream's own sentinels (no mode) keep their master; varTrack's without SENTINEL has none to name.
    if (master !== undefined && config.sentinels === undefined) {
      delete config.sentinel_master;
      if (master !== "")
        notices.push({ path: `${at}.redis.sentinel_master`, kind: "unused", message: "only with mode SENTINEL" });
    }
    if (mode === "CLUSTER" && (config.layout ?? "hash") === "hash") {
      // The hosts are seed nodes; the client learns the rest of the cluster from them.
      config.cluster_nodes = addresses(6379);
      delete config.host;
      delete config.port;
      if (config.db !== undefined && config.db !== 0)
        throw new BundleError(`${at}.redis.database`, "a Redis Cluster has database 0 only");
      delete config.db;
      return entry;
    }
    if (mode === "CLUSTER") {
      const tag = typeof config.tag === "string" ? config.tag : undefined;
      unsupported.push({
        name: tag ? `redis-${tag}` : "redis",
        ...(tag ? { tag } : {}),
        kind: `redis (${mode})`,
        path: at,
      });
      notices.push({
        path: `${at}.redis.mode`,
        kind: "unsupported",
        message: `CLUSTER with data_structure ${String(config.layout).toUpperCase()}: not supported (its keys would spread over hash slots; HASH is); the rules writing it are inactive`,
      });
      return undefined;
    }
    if (hosts && hosts.length > 1) {
      throw new BundleError(`${at}.redis.hosts`, `a STANDALONE redis has one host; got ${hosts.length}`);
    }
  }
  if (kind === "mongo") finishMongo(config, `${at}.mongo`, notices);
  if (kind === "zookeeper" && config["~vartrack"]) {
    delete config["~vartrack"];
    // varTrack writes at base_path + destination, its base_path empty by default: the znode tree's root.
    if (config.root === undefined) {
      config.root = "/";
      notices.push({
        path: `${at}.zookeeper`,
        kind: "mapped",
        message: "no base_path: destinations are znode paths from the root (/), as varTrack writes them",
      });
    }
  }
  if (kind === "ssh") {
    const paths = config["~file_paths"] as string[] | undefined;
    delete config["~file_paths"];
    if (config.path === undefined && !paths) {
      config.path = ".";
      notices.push({
        path: `${at}.linux_server`,
        kind: "mapped",
        message: "no base_directory or file_paths: each destination is a file under the login's home directory",
      });
    }
    if (paths) {
      if (config.path === undefined) config.path = dirname(paths[0]!);
      notices.push({
        path: `${at}.linux_server.file_paths`,
        kind: "mapped",
        message: `each destination is a file under ${String(config.path)}`,
      });
    }
  }
  return entry;
}

/** A varTrack mongo entry's address (endpoint, else hosts, else host and port) as the sink's `uri`. */
function finishMongo(config: Obj, at: string, notices: BundleNotice[]): void {
  const endpoint = config["~endpoint"] as string | undefined;
  const host = config["~host"] as string | undefined;
  const port = config["~port"] as number | undefined;
  const hosts = config["~hosts"] as string[] | undefined;
  const replicaSet = config["~replica_set"] as string | undefined;
  const perEnv = config["~env_as_collection"] as boolean | undefined;
  for (const field of ["~endpoint", "~host", "~port", "~hosts", "~replica_set", "~env_as_collection"])
    delete config[field];
  const vartrack = [endpoint, host, port, hosts, replicaSet, perEnv].some((v) => v !== undefined);
  if (!vartrack) return;
  if ((config.username === undefined) !== (config.password === undefined))
    throw new BundleError(at, "password is required when username is provided (mongo.auth_consistency)");
  if (config.uri !== undefined) throw new BundleError(`${at}.uri`, "is not a field of MongoConfig");
  // proto3: an empty string is an unset field
  const address = hosts?.length ? hosts.join(",") : host ? `${host}${port ? `:${port}` : ""}` : undefined;
  let uri = endpoint || (address ? `mongodb://${address}/` : undefined);
  if (uri !== undefined && replicaSet)
    uri += `${uri.includes("?") ? "&" : "?"}replicaSet=${encodeURIComponent(replicaSet)}`;
  if (uri !== undefined) config.uri = uri;
  // varTrack's orchestrator: database "vartrack", collection "configs" unless set.
  config.database ??= "vartrack";
  if (perEnv) {
    delete config.collection;
    notices.push({
      path: `${at}.env_as_collection`,
      kind: "mapped",
      message: "each destination is a collection of its own name (a rule's destination_template names it)",
    });
  } else config.collection ??= "configs";
}
