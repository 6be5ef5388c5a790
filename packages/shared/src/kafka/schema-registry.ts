import { readFileSync } from "node:fs";
import registryLib from "@kafkajs/confluent-schema-registry";
import type { IHeaders, Message, TopicMessages } from "kafkajs";
import type { z } from "zod";
import type { Logger } from "../log.ts";
import { backoffMs, delay } from "../retry.ts";
import {
  CONTENT_TYPE,
  checkContract,
  DecodeError,
  FRAMED_CONTENT_TYPE,
  framed,
  frameOf,
  headerText,
  jsonCodec,
  parseJson,
  type RecordCodec,
} from "./codec.ts";
import { type ContractName, contractJsonSchema, TOPIC_CONTRACTS, valueSubject } from "./contracts.ts";
import type { Topics } from "./topics.ts";

// The library is CommonJS; its named exports are properties of the default one.
const { SchemaRegistry, SchemaType } = registryLib;
type Registry = InstanceType<typeof SchemaRegistry>;

/** A Confluent-compatible schema registry (KAFKA_SCHEMA_REGISTRY_URL, …_USERNAME, …_PASSWORD or …_PASSWORD_FILE). */
export interface SchemaRegistrySettings {
  /** the Confluent API's base URL, e.g. `http://registry:8080/apis/ccompat/v7` for Apicurio */
  url: string;
  username?: string;
  password?: { value: string } | { file: string };
}

type Env = Record<string, string | undefined>;

export function schemaRegistryFromEnv(env: Env): SchemaRegistrySettings | undefined {
  const url = env.KAFKA_SCHEMA_REGISTRY_URL?.trim();
  if (!url) return undefined;
  const username = env.KAFKA_SCHEMA_REGISTRY_USERNAME || undefined;
  const password = env.KAFKA_SCHEMA_REGISTRY_PASSWORD
    ? { value: env.KAFKA_SCHEMA_REGISTRY_PASSWORD }
    : env.KAFKA_SCHEMA_REGISTRY_PASSWORD_FILE
      ? { file: env.KAFKA_SCHEMA_REGISTRY_PASSWORD_FILE }
      : undefined;
  if ((username === undefined) !== (password === undefined)) {
    throw new Error("KAFKA_SCHEMA_REGISTRY_USERNAME and a password (…_PASSWORD or …_PASSWORD_FILE) go together");
  }
  return { url: url.replace(/\/+$/, ""), ...(username ? { username } : {}), ...(password ? { password } : {}) };
}

/** Raised when the registry cannot be used at start: unreachable, a weaker compatibility, an incompatible contract. */
export class SchemaRegistryError extends Error {
  override name = "SchemaRegistryError";
}

export interface RegistryCodecOptions {
  /** every registry call gives up after this long (10 s): an answer that never comes is tried again */
  requestTimeoutMs?: number;
  /** how many times a start tries one subject while the registry fails transiently (5) */
  registerAttempts?: number;
}

/**
 * The library's HTTP client (mappersmith) waits for an answer without limit unless a request says
 * otherwise; one lost answer hung a service's start for good (twice in a few hundred CI starts).
 */
const requestTimeout = (ms: number) => () => ({
  prepareRequest: (next: () => Promise<{ enhance(extras: { timeout: number }): unknown }>) =>
    next().then((request) => request.enhance({ timeout: ms })),
});

/** A registry call that failed in a way a later try can cure (no answer, a 5xx, throttled). */
class RegistryUnavailable extends Error {
  override readonly cause: unknown;
  constructor(cause: unknown) {
    super((cause as Error)?.message ?? String(cause));
    this.cause = cause;
  }
}

/** Levels at least as strict as BACKWARD: a consumer on the new contract reads what the old one wrote. */
const BACKWARD_OR_STRICTER = new Set(["BACKWARD", "BACKWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"]);

function statusOf(err: unknown): number | undefined {
  return typeof err === "object" && err !== null && "status" in err
    ? Number((err as { status: unknown }).status)
    : undefined;
}

const NO_ANSWER = /status 400: .*(\bE[A-Z]{3,}\b|socket hang up|Timeout \(\d+ms\))/;

/** A registry failure that a later try can cure: no answer, a 5xx, throttling or a refused login. */
function isTransient(err: unknown, status: number | undefined): boolean {
  // The library reports a request that got no answer (refused, reset, timed out) as an HTTP 400
  // carrying the socket's error; a 400 the registry sent carries the registry's own message.
  if (status === 400 && NO_ANSWER.test((err as Error | undefined)?.message ?? "")) return true;
  if (status !== undefined && !Number.isNaN(status))
    return status >= 500 || status === 401 || status === 403 || status === 429;
  const code = (err as { code?: unknown }).code;
  const name = (err as Error).name;
  return (
    (typeof code === "string" && /^(E[A-Z]+|UND_ERR)/.test(code)) ||
    name === "AbortError" ||
    name === "TimeoutError" ||
    /fetch failed|socket|network|timed? ?out/i.test((err as Error).message ?? "")
  );
}

/** Registers contracts with a registry and frames and checks values by their schema ids. */
export class RegistryCodec implements RecordCodec {
  private readonly registry: Registry;
  private readonly settings: SchemaRegistrySettings;
  /** topic → id of the schema this process writes there */
  private readonly ids = new Map<string, number>();

  private readonly timeoutMs: number;
  private readonly attempts: number;

  constructor(settings: SchemaRegistrySettings, options: RegistryCodecOptions = {}) {
    this.settings = settings;
    this.timeoutMs = options.requestTimeoutMs ?? 10_000;
    this.attempts = options.registerAttempts ?? 5;
    const auth =
      settings.username && settings.password ? { username: settings.username, password: this.password() } : undefined;
    this.registry = new SchemaRegistry(
      {
        host: settings.url,
        clientId: "varstream",
        middlewares: [requestTimeout(this.timeoutMs) as never],
        ...(auth ? { auth } : {}),
      },
      // zod's JSON Schema uses only standard keywords; formats it may name are not checked.
      { [SchemaType.JSON]: { strict: false, validateFormats: false } },
    );
  }

  private password(): string {
    const p = this.settings.password;
    if (p === undefined) return "";
    return "value" in p ? p.value : readFileSync(p.file, "utf8").trim();
  }

  private async request(
    method: "GET" | "PUT",
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: unknown }> {
    const headers: Record<string, string> = { accept: "application/vnd.schemaregistry.v1+json, application/json" };
    if (body !== undefined) headers["content-type"] = "application/vnd.schemaregistry.v1+json";
    if (this.settings.username) {
      headers.authorization = `Basic ${Buffer.from(`${this.settings.username}:${this.password()}`).toString("base64")}`;
    }
    const res = await fetch(`${this.settings.url}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: res.status, body: parsed };
  }

  /**
   * The subject's compatibility, set to BACKWARD when the subject has none of its own yet. A subject
   * weaker than BACKWARD is refused rather than changed: someone chose it. (Apicurio reports NONE for
   * a subject made without a config; set it with `PUT /config/<subject>`.)
   */
  private async compatibility(subject: string): Promise<string> {
    const path = `/config/${encodeURIComponent(subject)}`;
    const got = await this.request("GET", path);
    if (got.status === 404) {
      const put = await this.request("PUT", path, { compatibility: "BACKWARD" });
      if (isTransient(undefined, put.status)) throw new RegistryUnavailable(new Error(`HTTP ${put.status}`));
      if (put.status >= 300) throw new SchemaRegistryError(`cannot set ${subject}'s compatibility: HTTP ${put.status}`);
      return "BACKWARD";
    }
    if (isTransient(undefined, got.status)) throw new RegistryUnavailable(new Error(`HTTP ${got.status}`));
    if (got.status >= 300) throw new SchemaRegistryError(`cannot read ${subject}'s compatibility: HTTP ${got.status}`);
    const level = String((got.body as { compatibilityLevel?: unknown }).compatibilityLevel ?? "").toUpperCase();
    if (!BACKWARD_OR_STRICTER.has(level)) {
      throw new SchemaRegistryError(
        `subject ${subject} has compatibility ${level || "(none)"}; varstream needs BACKWARD or stricter: PUT /config/${subject} {"compatibility":"BACKWARD"}`,
      );
    }
    return level;
  }

  /** Registers `name`'s generated schema under `<topic>-value` (a no-op when it is already the latest). */
  async register(topic: string, name: ContractName, schema = contractJsonSchema(name)): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.registerOnce(topic, name, schema);
      } catch (err) {
        const cause = err instanceof RegistryUnavailable ? err.cause : undefined;
        if (cause === undefined) throw err;
        if (attempt >= this.attempts) {
          throw new SchemaRegistryError(
            `schema registry ${this.settings.url} is not reachable (${attempt} attempts at ${valueSubject(topic)}): ${(cause as Error).message}`,
          );
        }
        await delay(backoffMs(attempt, 200, 2_000));
      }
    }
  }

  private async registerOnce(topic: string, name: ContractName, schema: Record<string, unknown>): Promise<number> {
    const subject = valueSubject(topic);
    let level: string;
    try {
      level = await this.compatibility(subject);
    } catch (err) {
      if (err instanceof SchemaRegistryError) throw err;
      throw new RegistryUnavailable(err);
    }
    try {
      const { id } = await this.registry.register(
        { type: SchemaType.JSON, schema: JSON.stringify(schema) },
        { subject, compatibility: level as never, updateConfig: false },
      );
      this.ids.set(topic, id);
      return id;
    } catch (err) {
      const status = statusOf(err);
      if (status === 409) {
        throw new SchemaRegistryError(
          `the ${name} contract is not ${level}-compatible with the latest schema of ${subject}: ${(err as Error).message}`,
        );
      }
      if (isTransient(err, status)) throw new RegistryUnavailable(err);
      throw new SchemaRegistryError(`registering ${subject} failed: ${(err as Error).message}`);
    }
  }

  frame(batch: TopicMessages[]): TopicMessages[] {
    return batch.map((t) => {
      const id = this.ids.get(t.topic);
      return id === undefined ? t : { ...t, messages: t.messages.map((m) => frameMessage(m, id)) };
    });
  }

  async decode<T extends z.ZodType>(schema: T, value: Buffer | null, headers?: IHeaders): Promise<z.infer<T>> {
    if (value === null) throw new DecodeError("record has no value");
    const frame = frameOf(value, headers);
    if (!frame) return checkContract(schema, parseJson(value));
    let payload: unknown;
    try {
      payload = await this.registry.decode(value);
    } catch (err) {
      const status = statusOf(err);
      if (status === 404) {
        throw new DecodeError(
          `schema id ${frame.schemaId} is not in the schema registry ${this.settings.url}`,
          "RECORD_SCHEMA_UNKNOWN",
        );
      }
      // The library's validation error class is not exported; it is known by its name and paths.
      if ((err as Error).name === "ConfluentSchemaRegistryValidationError") {
        const paths = ((err as { paths?: string[][] }).paths ?? []).map((p) => p.join("")).join(", ");
        throw new DecodeError(`value breaks its writer's schema ${frame.schemaId} at ${paths || "(root)"}`);
      }
      if (err instanceof SyntaxError) throw new DecodeError(`value is not JSON: ${err.message}`);
      // The registry did not answer, or not yet (5xx, throttled, refused us): transient, the record is
      // read again. Anything else (a schema of another type, one no validator compiles) never reads.
      if (isTransient(err, status)) throw err;
      throw new DecodeError(
        `schema ${frame.schemaId} cannot be read: ${(err as Error).message}`,
        "RECORD_SCHEMA_UNKNOWN",
      );
    }
    return checkContract(schema, payload);
  }
}

function frameMessage(message: Message, schemaId: number): Message {
  if (message.value === null || message.value === undefined) return message; // a tombstone
  if (headerText(message.headers, "content-type") !== CONTENT_TYPE) return message;
  return {
    ...message,
    value: framed(schemaId, message.value),
    headers: { ...message.headers, "content-type": FRAMED_CONTENT_TYPE },
  };
}

/** A codec for reading only (the CLI): checks framed values by id, registers nothing. */
export function readingCodec(registry: SchemaRegistrySettings | undefined): RecordCodec {
  return registry === undefined ? jsonCodec : new RegistryCodec(registry);
}

/**
 * The codec a service writes and reads with: plain JSON without a registry; with one, every contract
 * is registered (or found) first, so an incompatible contract stops the start before anything is written.
 */
export async function openRecordCodec(
  registry: SchemaRegistrySettings | undefined,
  topics: Topics,
  logger: Logger,
): Promise<RecordCodec> {
  if (registry === undefined) return jsonCodec;
  const codec = new RegistryCodec(registry);
  const ids: Record<string, number> = {};
  for (const { name, topics: of } of TOPIC_CONTRACTS) {
    for (const topic of of(topics)) ids[valueSubject(topic)] = await codec.register(topic, name);
  }
  logger.info({ registry: registry.url, ids }, "topic contracts registered");
  return codec;
}
