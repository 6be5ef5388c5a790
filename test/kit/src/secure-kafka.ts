import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import kafkajs, { Kafka, logLevel } from "kafkajs";
import { TEST_KAFKA } from "./pipeline.ts";

// kafkajs is CommonJS and Node's named-export detection misses these enums.
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;
type AclResourceTypes = (typeof AclResourceTypes)[keyof typeof AclResourceTypes];

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/**
 * The test broker's secured listeners (infra/kafka/kafka.sh): SASL_SSL at the PLAINTEXT port + 2,
 * SSL with client certificates at + 3, its CA and client certificates, and its SCRAM/PLAIN users.
 */
export const SECURE_KAFKA = (() => {
  const [host, port] = TEST_KAFKA.split(",")[0]!.split(":") as [string, string];
  const tls = process.env.KAFKA_TLS_DIR ?? join(ROOT, ".cache/kafka/test-4.4.0/tls");
  return {
    sasl: `${host}:${Number(port) + 2}`,
    mtls: `${host}:${Number(port) + 3}`,
    ca: join(tls, "ca.crt"),
    client: (name: "varstream" | "limited") => ({
      cert: join(tls, `client-${name}.crt`),
      key: join(tls, `client-${name}.key`),
    }),
    users: { varstream: "varstream-secret", limited: "limited-secret" } as const,
  };
})();

export interface AclGrant {
  /** `User:<name>` (SASL) or `User:CN=<name>` (certificate) */
  principal: string;
  /** every topic, group and transactional id under this prefix */
  prefix: string;
  /** topics (full names) this principal may not write to, whatever else it may do */
  denyWrite?: string[];
}

/** Grants ACLs through the PLAINTEXT listener, whose principal is a super user on the test broker. */
export async function grantAcls(grant: AclGrant): Promise<void> {
  const kafka = new Kafka({ brokers: TEST_KAFKA.split(","), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const allow = (resourceType: AclResourceTypes) => ({
      resourceType,
      resourceName: grant.prefix,
      resourcePatternType: ResourcePatternTypes.PREFIXED,
      principal: grant.principal,
      host: "*",
      operation: AclOperationTypes.ALL,
      permissionType: AclPermissionTypes.ALLOW,
    });
    await admin.createAcls({
      acl: [
        allow(AclResourceTypes.TOPIC),
        allow(AclResourceTypes.GROUP),
        allow(AclResourceTypes.TRANSACTIONAL_ID),
        ...(grant.denyWrite ?? []).map((topic) => ({
          resourceType: AclResourceTypes.TOPIC,
          resourceName: topic,
          resourcePatternType: ResourcePatternTypes.LITERAL,
          principal: grant.principal,
          host: "*",
          operation: AclOperationTypes.WRITE,
          permissionType: AclPermissionTypes.DENY,
        })),
      ],
    });
  } finally {
    await admin.disconnect();
  }
}

/** Adds (or with `remove`, deletes) a DENY WRITE of `topic` for `principal`, through the PLAINTEXT listener. */
export async function denyWrite(principal: string, topic: string, remove = false): Promise<void> {
  const kafka = new Kafka({ brokers: TEST_KAFKA.split(","), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const acl = {
    resourceType: AclResourceTypes.TOPIC,
    resourceName: topic,
    resourcePatternType: ResourcePatternTypes.LITERAL,
    principal,
    host: "*",
    operation: AclOperationTypes.WRITE,
    permissionType: AclPermissionTypes.DENY,
  };
  try {
    if (remove) await admin.deleteAcls({ filters: [acl] });
    else await admin.createAcls({ acl: [acl] });
  } finally {
    await admin.disconnect();
  }
}
