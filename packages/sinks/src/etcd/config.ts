import { credential, doc } from "@varstream/shared";
import { z } from "zod";
import { sinkConfig } from "../config.ts";

export const EtcdSinkConfig = sinkConfig({
  hosts: doc(
    z.array(z.string().min(1)).min(1).default(["http://127.0.0.1:2379"]),
    "the cluster's endpoints; `https://` ones connect over TLS",
  ),
  username: credential("a user, when etcd has auth enabled", { env: "ETCD_USER" }).optional(),
  password: credential("its password", { env: "ETCD_PASSWORD" }).optional(),
  tls_ca: credential(
    "for https hosts: the CA (PEM) that signed the servers' certificates, when it is not a public one",
    {
      file: "/etc/varstream/etcd-ca.pem",
    },
  ).optional(),
  prefix: doc(z.string().default(""), "put before every key varstream writes, before the destination", "/config/"),
});
export type EtcdSinkConfig = z.infer<typeof EtcdSinkConfig>;
