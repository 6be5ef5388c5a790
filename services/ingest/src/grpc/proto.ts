import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

/** proto/ at the repository root: the wire contracts, defined once. */
export const PROTO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../proto");

/** `vartrack.v1` and `varstream.v1` loaded from proto/ (field names as written, enums as names). */
export function loadVartrack(): grpc.GrpcObject {
  const definition = protoLoader.loadSync(
    [join(PROTO_ROOT, "vartrack/v1/orchestrator.proto"), join(PROTO_ROOT, "varstream/v1/control.proto")],
    {
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
      includeDirs: [PROTO_ROOT],
    },
  );
  return grpc.loadPackageDefinition(definition);
}

export function service(pkg: grpc.GrpcObject, path: string): grpc.ServiceDefinition {
  let node: unknown = pkg;
  for (const part of path.split(".")) node = (node as Record<string, unknown>)[part];
  return (node as { service: grpc.ServiceDefinition }).service;
}
