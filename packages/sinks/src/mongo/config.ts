import { credential, doc, SecretRef } from "@varstream/shared";
import { z } from "zod";
import { sinkConfig } from "../config.ts";

export const MongoSinkConfig = sinkConfig({
  uri: doc(
    SecretRef.default("mongodb://127.0.0.1:27017"),
    "the connection string (`mongodb://host:port/…` or `mongodb+srv://…`); a credential, since it may hold a password",
    "mongodb://mongo-0:27017,mongo-1:27017/?replicaSet=rs0",
  ),
  username: credential("a user, when the server has authentication on", { env: "MONGO_USER" }).optional(),
  password: credential("its password", { env: "MONGO_PASSWORD" }).optional(),
  auth_source: doc(z.string().min(1).optional(), "the database the user is defined in (the server's default: admin)"),
  tls: doc(z.boolean().default(false), "connect over TLS, the server's certificate verified"),
  tls_ca: credential("with tls: the CA (PEM) that signed the server's certificate, when it is not a public one", {
    file: "/etc/varstream/mongo-ca.pem",
  }).optional(),
  max_pool_size: doc(
    z.number().int().positive().default(100),
    "connections to the server at most (the driver's maxPoolSize); 1 serializes the sink's requests",
    1,
  ),
  database: doc(z.string().min(1).default("varstream"), "the database varstream writes into"),
  layout: doc(
    z.enum(["key", "file"]).default("key"),
    "`key`: a document per config key, `{destination, key, value}`; `file`: a document per source file, its keys nested under `data`, labelled `_vt_env`, `_vt_file`, `_vt_repo`, … as varTrack's file strategy",
    "file",
  ),
  collection: doc(
    z.string().min(1).optional(),
    "one collection for every destination (each document names its destination); unset: each destination is a collection of that name",
    "configs",
  ),
});
export type MongoSinkConfig = z.infer<typeof MongoSinkConfig>;
