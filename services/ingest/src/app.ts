import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { TokenScope } from "@varstream/bundle";
import { ApiError, errorBody, type HttpErrorCode, type Logger, registry } from "@varstream/shared";
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, LogController } from "fastify";
import type { Caller, ControlAuth } from "./auth.ts";
import type { WebhookIntake } from "./intake.ts";
import { healthRoutes } from "./routes/health.ts";
import { syncRoutes } from "./routes/sync.ts";
import { taskRoutes } from "./routes/tasks.ts";
import { webhookRoutes } from "./routes/webhooks.ts";
import type { TaskStore } from "./tasks/task-store.ts";

declare module "fastify" {
  interface FastifyContextConfig {
    /** the token scope a route needs; routes without one (webhooks, health, docs) need no token */
    scope?: TokenScope;
  }
  interface FastifyRequest {
    caller?: Caller;
  }
}

export interface AppDeps {
  auth: ControlAuth;
  intake: WebhookIntake;
  store: TaskStore;
  logger: Logger;
  maxBodyBytes: number;
  /** readiness: Kafka reachable and topics present */
  checkKafka: () => Promise<void>;
}

/** Fastify's own error codes for bad input, mapped onto the catalogue. */
const FASTIFY_CODES: Record<string, HttpErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: "PAYLOAD_TOO_LARGE",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "UNSUPPORTED_MEDIA_TYPE",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "BAD_REQUEST",
  FST_ERR_CTP_EMPTY_JSON_BODY: "BAD_JSON",
  FST_ERR_CTP_INVALID_JSON_BODY: "BAD_JSON",
  FST_ERR_VALIDATION: "BAD_REQUEST",
};

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Per-request lines would dominate the logs at thousands of webhooks a second; outcomes are logged instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.maxBodyBytes,
    return503OnClosing: true,
  });

  // Bodies stay raw: signatures are computed over the exact bytes received.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    ["application/json", "application/x-www-form-urlencoded"],
    { parseAs: "buffer" },
    (_req, body, done) => done(null, body),
  );

  app.setErrorHandler((err: FastifyError | ApiError, request, reply) => {
    if (err instanceof ApiError) {
      return reply.status(err.status).send(errorBody(err.code, err.message, err.details));
    }
    const mapped = err.code ? FASTIFY_CODES[err.code] : undefined;
    if (mapped)
      return reply
        .status(mapped === "BAD_REQUEST" ? 400 : (err.statusCode ?? 400))
        .send(errorBody(mapped, err.message));
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.status(err.statusCode).send(errorBody("BAD_REQUEST", err.message));
    }
    request.log.error({ err }, "unhandled error");
    return reply.status(500).send(errorBody("INTERNAL", "internal error"));
  });
  // The control plane: a route that names a scope needs a bearer token that has it.
  app.addHook("onRequest", async (request) => {
    const scope = request.routeOptions.config?.scope;
    if (scope !== undefined) request.caller = deps.auth.authorize(request.headers.authorization, scope);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send(errorBody("NOT_FOUND", `no route ${request.method} ${request.url}`)),
  );

  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "varstream",
        description: "GitOps configuration sync on Apache Kafka: webhooks in, key sets to every sink.",
        version: "0.1.0",
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });

  await app.register(webhookRoutes, { intake: deps.intake });
  await app.register(syncRoutes, { intake: deps.intake });
  await app.register(taskRoutes, { store: deps.store });
  await app.register(healthRoutes, { store: deps.store, checkKafka: deps.checkKafka });
  app.get("/metrics", { schema: { hide: true }, config: { scope: "metrics" } }, async (_req, reply) => {
    reply.header("content-type", registry.contentType);
    return registry.metrics();
  });
  return app;
}
