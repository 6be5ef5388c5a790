import { errorSchema } from "@varstream/shared";
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import type { IntakeRequest, WebhookIntake } from "../intake.ts";

const accepted = {
  type: "object",
  properties: { task_id: { type: "string" }, message: { type: "string" }, received_at: { type: "string" } },
  required: ["task_id", "message", "received_at"],
} as const;

const ignored = {
  type: "object",
  properties: { message: { type: "string" }, reason: { type: "string" } },
  required: ["message", "reason"],
} as const;

type WebhookRequest = FastifyRequest<{ Params: { datasource: string }; Querystring: { platform?: string } }>;

function intakeRequest(request: WebhookRequest): IntakeRequest {
  return {
    datasource: request.params.datasource,
    headers: request.headers as Record<string, string | undefined>,
    body: (request.body as Buffer | undefined) ?? Buffer.alloc(0),
    contentType: request.headers["content-type"] ?? "",
    source: "http",
    ...(request.query.platform === undefined ? {} : { platformName: request.query.platform }),
  };
}

export const webhookRoutes: FastifyPluginAsync<{ intake: WebhookIntake }> = async (app, { intake }) => {
  app.post<{ Params: { datasource: string }; Querystring: { platform?: string } }>(
    "/v1/webhooks/:datasource/dry-run",
    {
      config: { scope: "dry-run" },
      schema: {
        summary: "Dry-run a webhook: the exact diff it would apply, written nowhere",
        description:
          "Runs the webhook's checks and ETL in this process, reads each target sink's current state and answers " +
          "per sink and scope the keys that would be set (old → new), the unchanged count and the keys that would be " +
          "pruned. @sensitive and @secret values are masked. Nothing is published to Kafka or written to a sink.",
        params: { type: "object", properties: { datasource: { type: "string" } }, required: ["datasource"] },
        querystring: { type: "object", properties: { platform: { type: "string" } } },
        response: {
          400: errorSchema,
          401: errorSchema,
          403: errorSchema,
          404: errorSchema,
          413: errorSchema,
          415: errorSchema,
        },
      },
    },
    async (request) => intake.dryRun(intakeRequest(request), request.caller?.name),
  );

  app.post<{ Params: { datasource: string }; Querystring: { platform?: string } }>(
    "/v1/webhooks/:datasource",
    {
      schema: {
        summary: "Receive a push webhook from GitHub, Gitea or GitLab",
        description:
          "Verifies the signature when the platform has a secret, normalizes the event and publishes it. " +
          "202 only after Kafka acknowledged; a redelivery within 24 h answers with the same task id.",
        params: { type: "object", properties: { datasource: { type: "string" } }, required: ["datasource"] },
        querystring: { type: "object", properties: { platform: { type: "string" } } },
        response: {
          200: ignored,
          202: accepted,
          400: errorSchema,
          401: errorSchema,
          404: errorSchema,
          413: errorSchema,
          415: errorSchema,
          503: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const result = await intake.handle(intakeRequest(request));
      return reply.status(result.status).send(result.body);
    },
  );
};
