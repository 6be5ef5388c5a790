import { credential, doc } from "@varstream/shared";
import { z } from "zod";
import { sinkConfig } from "../config.ts";
import { FILE_FORMATS } from "../file/config.ts";

export const S3SinkConfig = sinkConfig({
  bucket: doc(z.string().min(1), "the bucket; it must exist", "config"),
  key_prefix: doc(z.string().default(""), "put before every object name, before the destination", "apps/"),
  region: doc(z.string().min(1).default("us-east-1"), "the bucket's region"),
  endpoint: doc(
    z.url().optional(),
    "an S3-compatible server (MinIO, versitygw, Ceph); unset: AWS's endpoint for the region",
    "http://127.0.0.1:7070",
  ),
  force_path_style: doc(
    z.boolean().optional(),
    "address the bucket in the path (`<endpoint>/<bucket>/…`), as most S3-compatible servers want; default: on with `endpoint`",
  ),
  access_key_id: credential("an access key; unset: the AWS SDK's own chain (environment, profile, IAM role)", {
    env: "AWS_ACCESS_KEY_ID",
  }).optional(),
  secret_access_key: credential("its secret", { env: "AWS_SECRET_ACCESS_KEY" }).optional(),
  session_token: credential("a session token, with temporary keys").optional(),
  format: doc(
    z.enum(FILE_FORMATS).default("json"),
    "how a destination's object is rendered: json, yaml, env or properties",
  ),
}).refine(
  (c) => (c.access_key_id === undefined) === (c.secret_access_key === undefined),
  "s3 needs access_key_id and secret_access_key together",
);
export type S3SinkConfig = z.infer<typeof S3SinkConfig>;
