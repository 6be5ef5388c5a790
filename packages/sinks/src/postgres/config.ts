import { credential, doc, SecretRef } from "@varstream/shared";
import { z } from "zod";
import { sinkConfig } from "../config.ts";

export const PostgresSinkConfig = sinkConfig({
  host: doc(z.string().default("127.0.0.1"), "the PostgreSQL server's host name or address"),
  port: doc(z.number().int().positive().default(5432), "its port"),
  database: doc(z.string().min(1).default("postgres"), "the database"),
  user: doc(SecretRef.default("postgres"), "the role to log in as; a literal or a secret reference", {
    env: "PGUSER",
  }),
  password: credential("the role's password", { env: "PGPASSWORD" }).optional(),
  ssl: doc(z.boolean().default(false), "TLS to the server, its certificate verified (against ssl_ca when given)"),
  ssl_ca: credential("with ssl: the CA (PEM) that signed the server's certificate, when it is not a public one", {
    file: "/etc/varstream/pg-ca.pem",
  }).optional(),
  table: doc(
    z
      .string()
      .regex(
        /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/,
        "a table name: lower case letters, digits, _ (schema.table allowed)",
      )
      .default("varstream_config"),
    "the data table, created if missing; manifests go to `<table>_manifests`",
  ),
});
export type PostgresSinkConfig = z.infer<typeof PostgresSinkConfig>;
