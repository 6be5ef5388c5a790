import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import type { TokenScope } from "@varstream/bundle";
import { ApiError, type Logger, SCHEMA_REGISTRY_DATASOURCE, type Settings } from "@varstream/shared";
import type { Caller, ControlAuth } from "../auth.ts";
import type { IntakeResult, WebhookIntake } from "../intake.ts";
import type { TaskStore } from "../tasks/task-store.ts";
import { grpcError } from "./errors.ts";
import { loadVartrack, service } from "./proto.ts";
import { toWebhookTask } from "./tasks.ts";

export interface GrpcDeps {
  auth: ControlAuth;
  intake: WebhookIntake;
  store: TaskStore;
  logger: Logger;
  settings: Settings;
}

interface WebhookRequest {
  platform: string;
  datasource?: string;
  repo?: string;
  branch?: string;
  raw_payload: string;
  headers: Record<string, string>;
}

/**
 * TLS from TLS_CERT_FILE/TLS_KEY_FILE (client certificates checked against TLS_CA_FILE: mTLS).
 * APP_ENV=production refuses to start without them.
 */
export function grpcCredentials(settings: Settings, env = process.env): grpc.ServerCredentials {
  const cert = env.TLS_CERT_FILE;
  const key = env.TLS_KEY_FILE;
  const ca = env.TLS_CA_FILE;
  if (!cert || !key || !ca) {
    if (settings.appEnv === "production") {
      throw new Error("APP_ENV=production requires TLS_CERT_FILE, TLS_KEY_FILE and TLS_CA_FILE for gRPC mTLS");
    }
    if (cert || key) throw new Error("gRPC TLS needs TLS_CERT_FILE, TLS_KEY_FILE and TLS_CA_FILE together");
    return grpc.ServerCredentials.createInsecure();
  }
  return grpc.ServerCredentials.createSsl(
    readFileSync(ca),
    [{ private_key: readFileSync(key), cert_chain: readFileSync(cert) }],
    true,
  );
}

function answer(result: IntakeResult) {
  const ok = { code: 0, message: "", details: [] };
  if (result.status === 202) return { task_id: result.body.task_id, message: result.body.message, status: ok };
  return { task_id: "", message: `ignored: ${result.body.reason}`, status: { ...ok, message: result.body.reason } };
}

function lowerKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

type Handler<Req, Res> = grpc.handleUnaryCall<Req, Res>;

/**
 * A unary handler. With `control` (auth and scope), the call needs the control-plane token in its
 * `authorization` metadata (`Bearer …`), as HTTP does; webhook calls are verified by their signature.
 */
function unary<Req, Res>(
  logger: Logger,
  fn: (req: Req, caller: Caller) => Promise<Res>,
  control?: { auth: ControlAuth; scope: TokenScope },
): Handler<Req, Res> {
  return (call, callback) => {
    let caller: Caller = { name: "anonymous" };
    if (control) {
      try {
        const value = call.metadata.get("authorization")[0];
        caller = control.auth.authorize(typeof value === "string" ? value : value?.toString(), control.scope);
      } catch (err) {
        callback(grpcError(err) as grpc.ServiceError);
        return;
      }
    }
    fn(call.request, caller).then(
      (res) => callback(null, res),
      (err: unknown) => {
        if (!(err instanceof ApiError)) logger.error({ err }, "gRPC call failed");
        callback(grpcError(err) as grpc.ServiceError);
      },
    );
  };
}

/**
 * `vartrack.v1.Orchestrator`: existing varTrack gateways call ProcessWebhook and
 * ProcessSchemaWebhook, which take the same path as the HTTP webhook, and GetWebhookTask;
 * `vartrack.v1.Watcher` (drift watchers' SyncDatasource) and `varstream.v1.Control/TriggerSync` resync.
 */
export async function startGrpc(deps: GrpcDeps, address: string): Promise<{ server: grpc.Server; port: number }> {
  const { intake, store, logger } = deps;
  const pkg = loadVartrack();
  const server = new grpc.Server({ "grpc.max_receive_message_length": deps.settings.maxWebhookBytes + 64 * 1024 });
  const handle = (req: WebhookRequest, datasource: string) =>
    intake.handle({
      datasource,
      headers: lowerKeys(req.headers ?? {}),
      body: Buffer.from(req.raw_payload ?? "", "utf8"),
      contentType: "application/json",
      source: "grpc",
    });
  server.addService(service(pkg, "vartrack.v1.Orchestrator"), {
    ProcessWebhook: unary(logger, async (req: WebhookRequest) => {
      if (!req.datasource) throw new ApiError("BAD_REQUEST", "datasource is required");
      return answer(await handle(req, req.datasource));
    }),
    ProcessSchemaWebhook: unary(logger, async (req: WebhookRequest) =>
      answer(await handle(req, SCHEMA_REGISTRY_DATASOURCE)),
    ),
    GetWebhookTask: unary(
      logger,
      async (req: { task_id: string }) => {
        const doc = store.get(req.task_id);
        if (!doc) throw new ApiError("TASK_NOT_FOUND", `no task ${req.task_id}`);
        return toWebhookTask(doc);
      },
      { auth: deps.auth, scope: "tasks:read" },
    ),
    Ping: unary(logger, async () => ({})),
  });
  const sync = unary(
    logger,
    async (req: { datasource: string; platform: string; tenant: string; env: string; reason: string }, caller) => {
      if (!req.datasource) throw new ApiError("BAD_REQUEST", "datasource is required");
      const accepted = await intake.resync({
        datasource: req.datasource,
        source: "grpc",
        requestedBy: caller.name,
        ...(req.platform ? { platform: req.platform } : {}),
        ...(req.tenant ? { tenant: req.tenant } : {}),
        ...(req.env ? { env: req.env } : {}),
        ...(req.reason ? { reason: req.reason } : {}),
      });
      return { task_id: accepted.task_id, status: { code: 0, message: "accepted", details: [] } };
    },
    { auth: deps.auth, scope: "sync" },
  );
  server.addService(service(pkg, "vartrack.v1.Watcher"), {
    SyncDatasource: sync,
    Ping: unary(logger, async () => ({})),
  });
  server.addService(service(pkg, "varstream.v1.Control"), { TriggerSync: sync });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(address, grpcCredentials(deps.settings), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  logger.info({ address, port }, "gRPC listening");
  return { server, port };
}
