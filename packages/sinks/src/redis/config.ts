import { credential, doc } from "@varstream/shared";
import { z } from "zod";
import { sinkConfig } from "../config.ts";

/** Servers a client is given several of: cluster nodes, sentinels. */
const addresses = z.array(z.string().regex(/^[^:\s]+:\d+$/, "host:port")).min(1);

export const RedisSinkConfig = sinkConfig({
  host: doc(z.string().default("127.0.0.1"), "the Redis server's host name or address"),
  port: doc(z.number().int().positive().default(6379), "its port"),
  db: doc(z.number().int().nonnegative().default(0), "the database number"),
  username: credential("an ACL user", { env: "REDIS_USERNAME" }).optional(),
  password: credential("the password (of the ACL user, or requirepass)", { env: "REDIS_PASSWORD" }).optional(),
  cluster_nodes: doc(
    addresses.optional(),
    "Redis Cluster: some of its nodes' `host:port` (the client learns the rest); `hash` layout only (host, port and db are then not used)",
    ["10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379"],
  ),
  sentinels: doc(
    addresses.optional(),
    "Redis Sentinel: the sentinels' `host:port`; they name the master to write to (host and port are then not used)",
    ["10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"],
  ),
  sentinel_master: doc(
    z.string().min(1).optional(),
    "with sentinels: the master's name in their configuration",
    "mymaster",
  ),
  sentinel_password: credential("with sentinels: the sentinels' own password, when they have one").optional(),
  tls: doc(z.boolean().default(false), "connect over TLS, the server's certificate verified"),
  tls_ca: credential("with tls: the CA (PEM) that signed the server's certificate, when it is not a public one", {
    file: "/etc/varstream/redis-ca.pem",
  }).optional(),
  layout: doc(
    z.enum(["hash", "string", "json"]).default("hash"),
    "hash: HSET <destination> key value; string: SET <destination>:<key> value; json: one JSON value per destination",
  ),
  ttl_seconds: doc(
    z.number().int().positive().optional(),
    "string layout: keys expire after this many seconds (re-set by every apply that writes them)",
    3600,
  ),
})
  .refine(
    (c) => (c.sentinels === undefined) === (c.sentinel_master === undefined),
    "sentinels and sentinel_master go together",
  )
  .refine((c) => c.cluster_nodes === undefined || c.sentinels === undefined, "cluster_nodes or sentinels, not both")
  // A cluster runs one apply's script on one node: the destination, its manifest and its claims share a
  // hash slot. The string layout's keys are spread over every slot.
  .refine((c) => c.cluster_nodes === undefined || c.layout === "hash", "a Redis Cluster takes the hash layout only");
export type RedisSinkConfig = z.infer<typeof RedisSinkConfig>;
