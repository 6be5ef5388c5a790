import { readFileSync } from "node:fs";
import type { KafkaConfig, SASLOptions } from "kafkajs";
import type { Secrets } from "../config/secret.ts";

/** Kafka's own names for how a client talks to a broker (`security.protocol`). */
export const SECURITY_PROTOCOLS = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] as const;
export type SecurityProtocol = (typeof SECURITY_PROTOCOLS)[number];

export const SASL_MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/**
 * How the services reach Kafka, from the environment (see docs/operations.md):
 * `KAFKA_SECURITY_PROTOCOL`, `KAFKA_TLS_CA_FILE`, `KAFKA_TLS_CERT_FILE`, `KAFKA_TLS_KEY_FILE`,
 * `KAFKA_TLS_SERVERNAME`, `KAFKA_SASL_MECHANISM`, `KAFKA_SASL_USERNAME`, and the password as
 * `KAFKA_SASL_PASSWORD`, `KAFKA_SASL_PASSWORD_FILE`, or `KAFKA_SASL_PASSWORD_REF` — a secret reference
 * (`env:NAME`, `file:/path`, `vault:path#key`) resolved with the bundle's secret managers.
 * Mutual TLS is `SSL` (or `SASL_SSL`) with a client certificate and key.
 */
export interface KafkaSecurity {
  protocol: SecurityProtocol;
  tls: { caFile?: string; certFile?: string; keyFile?: string; servername?: string };
  sasl?: { mechanism: SaslMechanism; username: string; password: KafkaPassword };
  /** `KAFKA_ALLOW_PLAINTEXT=true`: APP_ENV=production may use a PLAINTEXT or SASL_PLAINTEXT broker */
  allowPlaintext: boolean;
}

/** A password as given, or a reference still to resolve (`resolveKafkaSecurity`). */
export type KafkaPassword = { value: string } | { file: string } | { ref: string };

type Env = Record<string, string | undefined>;

export class KafkaConfigError extends Error {
  override name = "KafkaConfigError";
}

function oneOf<T extends string>(name: string, raw: string, allowed: readonly T[]): T {
  const value = raw.trim().toUpperCase();
  if (!(allowed as readonly string[]).includes(value)) {
    throw new KafkaConfigError(`${name} must be one of ${allowed.join(", ")}, got ${raw}`);
  }
  return value as T;
}

export function kafkaSecurityFromEnv(env: Env): KafkaSecurity {
  const set = (name: string) => (env[name] === undefined || env[name] === "" ? undefined : env[name]);
  const mechanismRaw = set("KAFKA_SASL_MECHANISM");
  const protocol = oneOf(
    "KAFKA_SECURITY_PROTOCOL",
    set("KAFKA_SECURITY_PROTOCOL") ?? (mechanismRaw ? "SASL_SSL" : "PLAINTEXT"),
    SECURITY_PROTOCOLS,
  );
  const passwords = (["KAFKA_SASL_PASSWORD", "KAFKA_SASL_PASSWORD_FILE", "KAFKA_SASL_PASSWORD_REF"] as const).filter(
    (n) => set(n) !== undefined,
  );
  if (passwords.length > 1) throw new KafkaConfigError(`set one of ${passwords.join(", ")}, not several`);
  const password: KafkaPassword | undefined =
    set("KAFKA_SASL_PASSWORD") !== undefined
      ? { value: set("KAFKA_SASL_PASSWORD")! }
      : set("KAFKA_SASL_PASSWORD_FILE") !== undefined
        ? { file: set("KAFKA_SASL_PASSWORD_FILE")! }
        : set("KAFKA_SASL_PASSWORD_REF") !== undefined
          ? { ref: set("KAFKA_SASL_PASSWORD_REF")! }
          : undefined;
  const usesSasl = protocol.startsWith("SASL_");
  if (usesSasl && (!set("KAFKA_SASL_USERNAME") || !password)) {
    throw new KafkaConfigError(
      `KAFKA_SECURITY_PROTOCOL=${protocol} needs KAFKA_SASL_USERNAME and a password (KAFKA_SASL_PASSWORD, _FILE or _REF)`,
    );
  }
  if (!usesSasl && (mechanismRaw || set("KAFKA_SASL_USERNAME") || password)) {
    throw new KafkaConfigError(`SASL settings are given but KAFKA_SECURITY_PROTOCOL=${protocol} does not use SASL`);
  }
  const tls = {
    caFile: set("KAFKA_TLS_CA_FILE"),
    certFile: set("KAFKA_TLS_CERT_FILE"),
    keyFile: set("KAFKA_TLS_KEY_FILE"),
    servername: set("KAFKA_TLS_SERVERNAME"),
  };
  const usesTls = protocol === "SSL" || protocol === "SASL_SSL";
  if (!usesTls && Object.values(tls).some((v) => v !== undefined)) {
    throw new KafkaConfigError(`KAFKA_TLS_* settings are given but KAFKA_SECURITY_PROTOCOL=${protocol} has no TLS`);
  }
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    throw new KafkaConfigError("a client certificate needs both KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE");
  }
  return {
    protocol,
    tls,
    sasl: usesSasl
      ? {
          mechanism: oneOf("KAFKA_SASL_MECHANISM", mechanismRaw ?? "SCRAM-SHA-512", SASL_MECHANISMS),
          username: set("KAFKA_SASL_USERNAME")!,
          password: password!,
        }
      : undefined,
    allowPlaintext: /^(1|true|yes)$/i.test(env.KAFKA_ALLOW_PLAINTEXT ?? ""),
  };
}

/** Resolves a `KAFKA_SASL_PASSWORD_REF` through the secret managers; other settings are already usable. */
export async function resolveKafkaSecurity(security: KafkaSecurity, secrets: Secrets): Promise<KafkaSecurity> {
  const sasl = security.sasl;
  if (!sasl || !("ref" in sasl.password)) return security;
  let value: string;
  try {
    value = await secrets.resolveText(sasl.password.ref);
  } catch (err) {
    throw new KafkaConfigError(`KAFKA_SASL_PASSWORD_REF cannot be resolved: ${(err as Error).message}`);
  }
  return { ...security, sasl: { ...sasl, password: { value } } };
}

function readPem(name: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new KafkaConfigError(`${name} ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
  }
}

/**
 * The kafkajs `ssl` and `sasl` options. APP_ENV=production refuses a connection without TLS unless
 * KAFKA_ALLOW_PLAINTEXT says so: config values and credentials would cross the network in the clear.
 */
export function kafkajsSecurity(security: KafkaSecurity, appEnv: string): Pick<KafkaConfig, "ssl" | "sasl"> {
  const usesTls = security.protocol === "SSL" || security.protocol === "SASL_SSL";
  if (appEnv === "production" && !usesTls && !security.allowPlaintext) {
    throw new KafkaConfigError(
      `APP_ENV=production refuses KAFKA_SECURITY_PROTOCOL=${security.protocol}: use SSL or SASL_SSL, or set KAFKA_ALLOW_PLAINTEXT=true to accept an unencrypted broker connection`,
    );
  }
  const out: Pick<KafkaConfig, "ssl" | "sasl"> = {};
  if (usesTls) {
    const { caFile, certFile, keyFile, servername } = security.tls;
    out.ssl = {
      rejectUnauthorized: true,
      ...(caFile ? { ca: [readPem("KAFKA_TLS_CA_FILE", caFile)] } : {}),
      ...(certFile ? { cert: readPem("KAFKA_TLS_CERT_FILE", certFile) } : {}),
      ...(keyFile ? { key: readPem("KAFKA_TLS_KEY_FILE", keyFile) } : {}),
      ...(servername ? { servername } : {}),
    };
  }
  const sasl = security.sasl;
  if (sasl) {
    if ("ref" in sasl.password)
      throw new KafkaConfigError("KAFKA_SASL_PASSWORD_REF was not resolved before connecting");
    const password =
      "file" in sasl.password ? readPem("KAFKA_SASL_PASSWORD_FILE", sasl.password.file).trim() : sasl.password.value;
    const mechanism = sasl.mechanism.toLowerCase() as "plain" | "scram-sha-256" | "scram-sha-512";
    out.sasl = { mechanism, username: sasl.username, password } as SASLOptions;
  }
  return out;
}

/** What a log may say about the connection: never a password or key. */
export function describeKafkaSecurity(security: KafkaSecurity): Record<string, unknown> {
  return {
    protocol: security.protocol,
    ...(security.sasl ? { sasl: security.sasl.mechanism, user: security.sasl.username } : {}),
    ...(security.tls.caFile ? { ca: security.tls.caFile } : {}),
    ...(security.tls.certFile ? { clientCert: security.tls.certFile } : {}),
  };
}
