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

/**
 * A webhook refused for what it is (a bad signature, an unknown datasource, a payload that does not
 * parse: a 4xx of the catalogue) is answered, not raised: no task id, and the refusal in `status` as a
 * google.rpc.Status (code and `CODE: message`). A varTrack gateway counts every gRPC error as the
 * orchestrator failing and opens its circuit breaker after five; one sender's bad webhooks must not
 * make it refuse everybody's good ones. What is the orchestrator's own failure (the broker away: 503)
 * stays a gRPC error, which is what the breaker is for.
 */
async function answerWebhook(logger: Logger, run: () => Promise<IntakeResult>) {
  try {
    return answer(await run());
  } catch (err) {
    if (!(err instanceof ApiError) || err.status >= 500) throw err;
    const { code, details } = grpcError(err);
    logger.warn({ code: err.code, err: err.message }, "gRPC webhook refused (answered in its status)");
    return { task_id: "", message: `rejected: ${details}`, status: { code, message: details, details: [] } };
  }
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
  // The platform the gateway names is honoured: only that entry's secret can verify the delivery.
  const handle = (req: WebhookRequest, datasource: string) =>
    intake.handle({
      datasource,
      headers: lowerKeys(req.headers ?? {}),
      body: Buffer.from(req.raw_payload ?? "", "utf8"),
      contentType: "application/json",
      source: "grpc",
      ...(req.platform ? { platformName: req.platform } : {}),
    });
  server.addService(service(pkg, "vartrack.v1.Orchestrator"), {
    ProcessWebhook: unary(logger, (req: WebhookRequest) =>
      answerWebhook(logger, async () => {
        if (!req.datasource) throw new ApiError("BAD_REQUEST", "datasource is required");
        return handle(req, req.datasource);
      }),
    ),
    ProcessSchemaWebhook: unary(logger, (req: WebhookRequest) =>
      answerWebhook(logger, () => handle(req, SCHEMA_REGISTRY_DATASOURCE)),
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
      return { task_id: accepted.task_id, status: "accepted" };
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
