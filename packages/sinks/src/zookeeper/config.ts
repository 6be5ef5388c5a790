import { credential, doc } from "@varstream/shared";
import { z } from "zod";
import { sinkConfig } from "../config.ts";

export const ZookeeperSinkConfig = sinkConfig({
  connect: doc(z.string().min(1).default("127.0.0.1:2181"), "the connection string, `host:port[,host:port…][/chroot]`"),
  username: credential(
    "digest authentication; znodes varstream creates are then writable by this user only and readable by everyone",
    { env: "ZK_USER" },
  ).optional(),
  password: credential("its password", { env: "ZK_PASSWORD" }).optional(),
  encoding: doc(
    z.enum(["text", "json"]).default("text"),
    "how a value is stored in its znode: its canonical text, or JSON (types kept)",
  ),
  root: doc(
    z
      .string()
      .regex(/^\/([^/]+(\/[^/]+)*)?$/, "an absolute znode path")
      .default("/varstream"),
    "the znode every destination lives under",
  ),
});
export type ZookeeperSinkConfig = z.infer<typeof ZookeeperSinkConfig>;
