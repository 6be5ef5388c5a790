import { setTimeout as sleep } from "node:timers/promises";
import { type Kafka, logLevel } from "kafkajs";
import { Secrets } from "../config/secret.ts";
import type { Settings } from "../config/settings.ts";
import type { Logger } from "../log.ts";
import { createKafka } from "./client.ts";
import { describeKafkaSecurity, KafkaConfigError, resolveKafkaSecurity } from "./security.ts";

/** A broker connection that cannot work as configured: the message names the cause and the setting. */
export class KafkaConnectError extends Error {
  override name = "KafkaConnectError";
}

const UNTRUSTED = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "CERT_SIGNATURE_FAILURE",
]);

/** The errors a kafkajs error wraps (`cause`, `originalError`), outermost first. */
export function errorChain(err: unknown): Array<Error & { code?: string; type?: string }> {
  const out: Array<Error & { code?: string; type?: string }> = [];
  let at: unknown = err;
  while (at instanceof Error && out.length < 8) {
    out.push(at);
    const next =
      (at as { cause?: unknown; originalError?: unknown }).cause ?? (at as { originalError?: unknown }).originalError;
    at = next;
  }
  return out;
}

/**
 * What went wrong, in words that name the setting to change; undefined for an error that is not
 * about the connection's security (a broker not yet up, a timeout) and may pass with time.
 */
export function explainKafkaError(err: unknown, settings: Settings): string | undefined {
  const security = settings.kafkaSecurity;
  for (const e of errorChain(err)) {
    if (e.name === "KafkaJSSASLAuthenticationError") {
      return `Kafka refused the SASL ${security.sasl?.mechanism ?? ""} login of user ${security.sasl?.username ?? "?"}: wrong username or password (KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD*) or a mechanism the broker does not enable (KAFKA_SASL_MECHANISM) — ${e.message}`;
    }
    if (e.code && UNTRUSTED.has(e.code)) {
      return `the Kafka broker's TLS certificate is not trusted (${e.code}): set KAFKA_TLS_CA_FILE to the CA that signed it${security.tls.caFile ? ` (now ${security.tls.caFile})` : ""}`;
    }
    if (e.code === "ERR_TLS_CERT_ALTNAME_INVALID") {
      return `the Kafka broker's TLS certificate does not name the host connected to (${e.message}): connect by a name it carries, or set KAFKA_TLS_SERVERNAME`;
    }
    if (e.code === "CERT_HAS_EXPIRED" || e.code === "CERT_NOT_YET_VALID") {
      return `the Kafka broker's TLS certificate is not valid now (${e.code})`;
    }
    if (e.code === "EPROTO" || /wrong version number|packet length too long/i.test(e.message)) {
      return `TLS to the Kafka broker failed (${e.message}): is the listener at ${settings.kafkaBrokers.join(",")} a TLS listener? KAFKA_SECURITY_PROTOCOL is ${security.protocol}`;
    }
    if (typeof e.type === "string" && e.type.endsWith("_AUTHORIZATION_FAILED")) {
      return `Kafka denied ${e.type} to ${security.sasl ? `User:${security.sasl.username}` : "this client's principal"}: grant the ACLs listed in docs/operations.md`;
    }
    if (e.type === "OPERATION_NOT_ATTEMPTED") {
      // Kafka 4.x answers a batched request (AddPartitionsToTxn) this way for the partitions it skipped
      // after refusing another one; kafkajs reports only the first partition's error.
      return `Kafka refused part of a batched request (OPERATION_NOT_ATTEMPTED: another partition of it was refused, most often for a missing WRITE ACL of ${security.sasl ? `User:${security.sasl.username}` : "this client's principal"}): grant the ACLs listed in docs/operations.md`;
    }
    if (
      e.type === "SASL_AUTHENTICATION_FAILED" ||
      e.type === "ILLEGAL_SASL_STATE" ||
      e.type === "UNSUPPORTED_SASL_MECHANISM"
    ) {
      return `Kafka refused the SASL login (${e.type}): check KAFKA_SASL_MECHANISM and the credentials`;
    }
  }
  return undefined;
}

export interface OpenKafkaOptions {
  /** resolves KAFKA_SASL_PASSWORD_REF (the bundle's secret managers) */
  secrets?: Secrets;
  /** how long a broker that does not answer yet is waited for (default 30 s) */
  waitMs?: number;
}

/**
 * The service's Kafka client, after one round trip proved it can reach and log in to the cluster.
 * A TLS or SASL mistake stops the start at once with a message naming its cause; a broker that is
 * not up yet is retried until `waitMs`.
 */
export async function openKafka(
  settings: Settings,
  logger: Logger,
  options: OpenKafkaOptions = {},
): Promise<{ kafka: Kafka; settings: Settings }> {
  let resolved: Settings;
  try {
    resolved = {
      ...settings,
      kafkaSecurity: await resolveKafkaSecurity(settings.kafkaSecurity, options.secrets ?? new Secrets()),
    };
    createKafka(resolved, logger); // settings errors (unreadable files, production plaintext) surface here
  } catch (err) {
    if (err instanceof KafkaConfigError) throw new KafkaConnectError(err.message);
    throw err;
  }
  const probe = createKafka(resolved, logger.child({ probe: true }), {
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const deadline = Date.now() + (options.waitMs ?? 30_000);
  let delay = 200;
  for (;;) {
    const admin = probe.admin({ retry: { retries: 0 } });
    try {
      await admin.connect();
      await admin.describeCluster();
      logger.info(
        { brokers: resolved.kafkaBrokers, ...describeKafkaSecurity(resolved.kafkaSecurity) },
        "kafka connected",
      );
      return { kafka: createKafka(resolved, logger), settings: resolved };
    } catch (err) {
      const cause = explainKafkaError(err, resolved);
      if (cause) throw new KafkaConnectError(cause);
      if (Date.now() + delay > deadline) {
        throw new KafkaConnectError(
          `Kafka at ${resolved.kafkaBrokers.join(",")} did not answer (${(err as Error).message}); KAFKA_SECURITY_PROTOCOL is ${resolved.kafkaSecurity.protocol}`,
        );
      }
      logger.warn({ err: (err as Error).message }, "kafka not reachable yet; retrying");
      await sleep(delay);
      delay = Math.min(delay * 2, 2000);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}
