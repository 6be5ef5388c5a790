import { type SchemaRegistrySettings, schemaRegistryFromEnv } from "../kafka/schema-registry.ts";
import { type KafkaSecurity, kafkaSecurityFromEnv } from "../kafka/security.ts";
import type { TopicReplication } from "../kafka/topics.ts";
import { DEFAULT_TREE_LIMITS, type TreeLimits } from "../tree/guard.ts";

/**
 * Process settings from environment variables. Read once at start; every service gets
 * the same object, and tests build one with overrides instead of mutating process.env.
 */
export interface Settings {
  appEnv: string;
  configPath: string;
  kafkaBrokers: string[];
  kafkaClientId: string;
  /** TLS and SASL for the broker connection (KAFKA_SECURITY_PROTOCOL, KAFKA_TLS_*, KAFKA_SASL_*) */
  kafkaSecurity: KafkaSecurity;
  /** KAFKA_SCHEMA_REGISTRY_URL (+ _USERNAME, _PASSWORD or _PASSWORD_FILE): frame topic values by schema id; unset: plain JSON */
  schemaRegistry: SchemaRegistrySettings | undefined;
  topicPrefix: string;
  topicPartitions: number;
  /** replication of the topics varstream creates (TOPIC_REPLICATION_FACTOR, TOPIC_MIN_INSYNC_REPLICAS) */
  topicReplication: TopicReplication;
  httpHost: string;
  httpPort: number;
  /**
   * OPS_ADDR: where the ETL and the sink writer serve /metrics and /health/* (`host:port`; port 0 picks
   * one); unset, each its default (etl :9101, sink-writer :9102; loopback outside production)
   */
  opsAddr: string | undefined;
  /** the gRPC listen address (ORCHESTRATOR_ADDR), `host:port` */
  grpcAddr: string;
  logLevel: string;
  gitCacheDir: string;
  gitCacheMaxEntries: number;
  gitAllowedHosts: string[];
  schemaCacheDir: string;
  schemaTtlMs: number;
  maxWebhookBytes: number;
  /** a config file larger than this fails with FILE_TOO_LARGE before it is parsed */
  maxFileBytes: number;
  /** what one file's tree may hold (MAX_TREE_DEPTH, MAX_KEYS_PER_FILE, MAX_KEY_LENGTH, MAX_VALUE_LENGTH) */
  treeLimits: TreeLimits;
  sinks: string[] | undefined;
  sinkMaxRetries: number;
  /** GIT_RETRY_WINDOW: an event whose git host is away is retried this long after it was received, then fails */
  gitRetryWindowMs: number;
  /** SINK_RETRY_MAX_BACKOFF: while a store is down its writer retries forever, waiting at most this long between tries */
  sinkRetryMaxBackoffMs: number;
  /** ETL_SESSION_TIMEOUT: an ETL replica silent this long loses its partitions to the others */
  etlSessionTimeoutMs: number;
  /** ETL_TRANSACTIONAL_ID_PREFIX: transactional ids are `<prefix>.<topic>-<partition>` (default `<TOPIC_PREFIX>etl`) */
  etlTransactionalIdPrefix: string | undefined;
  /**
   * SINK_SESSION_TIMEOUT: the same for a sink writer (15 s: a writer killed with -9 is replaced sooner
   * than kafkajs' 30 s); it heartbeats between records, so it must stay above the longest apply with retries
   */
  sinkSessionTimeoutMs: number;
  taskRetentionMs: number;
  deliveryDedupeMs: number;
}

type Env = Record<string, string | undefined>;

/** APP_ENV's values: `production` turns on every refusal of what is only safe on a laptop. */
export const APP_ENVS = ["development", "test", "production"];

function int(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got ${raw}`);
  return value;
}

function list(raw: string | undefined): string[] {
  return (raw ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** `7d`, `12h`, `30m`, `45s`, or plain milliseconds. */
export function parseDuration(raw: string): number {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(raw.trim());
  if (!match) throw new Error(`not a duration: ${raw}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? "ms"] ?? 1;
  return Number(match[1]) * unit;
}

export function splitHostPort(addr: string, defaultPort: number): { host: string; port: number } {
  const at = addr.lastIndexOf(":");
  if (at < 0) return { host: addr || "0.0.0.0", port: defaultPort };
  const host = addr.slice(0, at) || "0.0.0.0";
  const port = Number(addr.slice(at + 1));
  if (!Number.isInteger(port)) throw new Error(`bad address: ${addr}`);
  return { host, port };
}

export function loadSettings(env: Env = process.env, overrides: Partial<Settings> = {}): Settings {
  // Only known names: a typo (`prod`) must not quietly run with development's laxer checks.
  const appEnv = env.APP_ENV ?? "development";
  if (!APP_ENVS.includes(appEnv)) {
    throw new Error(`APP_ENV must be one of ${APP_ENVS.join(", ")}, got ${JSON.stringify(appEnv)}`);
  }
  // Outside production the API listens on loopback unless told otherwise: an open control plane stays local.
  const production = appEnv === "production";
  const http = splitHostPort(env.HTTP_ADDR ?? (production ? "0.0.0.0:8000" : "127.0.0.1:8000"), 8000);
  const sinks = list(env.SINKS);
  return {
    appEnv,
    configPath: env.CONFIG_PATH ?? "config.cue",
    kafkaBrokers: list(env.KAFKA_BROKERS ?? "127.0.0.1:9092"),
    kafkaClientId: env.KAFKA_CLIENT_ID ?? "varstream",
    kafkaSecurity: kafkaSecurityFromEnv(env),
    schemaRegistry: schemaRegistryFromEnv(env),
    topicPrefix: env.TOPIC_PREFIX ?? "varstream.",
    topicPartitions: int(env, "TOPIC_PARTITIONS", 6),
    topicReplication: {
      // -1: the broker's default.replication.factor
      factor: env.TOPIC_REPLICATION_FACTOR ? int(env, "TOPIC_REPLICATION_FACTOR", -1) : -1,
      ...(env.TOPIC_MIN_INSYNC_REPLICAS ? { minInsyncReplicas: int(env, "TOPIC_MIN_INSYNC_REPLICAS", 1) } : {}),
    },
    httpHost: http.host,
    httpPort: http.port,
    opsAddr: env.OPS_ADDR,
    grpcAddr: ((a) => `${a.host}:${a.port}`)(
      splitHostPort(env.ORCHESTRATOR_ADDR ?? (production ? ":50051" : "127.0.0.1:50051"), 50051),
    ),
    logLevel: env.LOG_LEVEL ?? "info",
    gitCacheDir: env.GIT_CACHE_DIR ?? "/tmp/vt_gitcache",
    gitCacheMaxEntries: int(env, "GIT_CACHE_MAX_ENTRIES", 20),
    gitAllowedHosts: list(env.GIT_ALLOWED_HOSTS),
    schemaCacheDir: env.SCHEMA_CACHE_DIR ?? "/tmp/schema_registry",
    schemaTtlMs: int(env, "SCHEMA_TTL_SECONDS", 300) * 1000,
    maxWebhookBytes: int(env, "MAX_WEBHOOK_BYTES", 10 * 1024 * 1024),
    maxFileBytes: int(env, "MAX_FILE_BYTES", 16 * 1024 * 1024),
    treeLimits: {
      maxDepth: int(env, "MAX_TREE_DEPTH", DEFAULT_TREE_LIMITS.maxDepth),
      maxKeys: int(env, "MAX_KEYS_PER_FILE", DEFAULT_TREE_LIMITS.maxKeys),
      maxKeyLength: int(env, "MAX_KEY_LENGTH", DEFAULT_TREE_LIMITS.maxKeyLength),
      maxValueLength: int(env, "MAX_VALUE_LENGTH", DEFAULT_TREE_LIMITS.maxValueLength),
    },
    sinks: sinks.length > 0 ? sinks : undefined,
    sinkMaxRetries: int(env, "SINK_MAX_RETRIES", 3),
    gitRetryWindowMs: parseDuration(env.GIT_RETRY_WINDOW ?? "24h"),
    sinkRetryMaxBackoffMs: parseDuration(env.SINK_RETRY_MAX_BACKOFF ?? "30s"),
    etlSessionTimeoutMs: parseDuration(env.ETL_SESSION_TIMEOUT ?? "30s"),
    etlTransactionalIdPrefix: env.ETL_TRANSACTIONAL_ID_PREFIX || undefined,
    sinkSessionTimeoutMs: parseDuration(env.SINK_SESSION_TIMEOUT ?? "15s"),
    taskRetentionMs: parseDuration(env.TASK_RETENTION ?? "7d"),
    deliveryDedupeMs: parseDuration(env.DELIVERY_DEDUPE_WINDOW ?? "24h"),
    ...overrides,
  };
}

/** The ETL's or the sink writer's ops address: OPS_ADDR, else the service's default port. */
export function opsAddress(settings: Settings, defaultPort: number): { host: string; port: number } {
  const fallback = `${settings.appEnv === "production" ? "0.0.0.0" : "127.0.0.1"}:${defaultPort}`;
  return splitHostPort(settings.opsAddr ?? fallback, defaultPort);
}
