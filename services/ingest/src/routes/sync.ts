import { ApiError, errorSchema } from "@varstream/shared";
import type { FastifyPluginAsync } from "fastify";
import type { WebhookIntake } from "../intake.ts";

interface SyncBody {
  env?: string;
  platform?: string;
  tenant?: string;
  reason?: string;
  refetch?: boolean;
}

export const syncRoutes: FastifyPluginAsync<{ intake: WebhookIntake }> = async (app, { intake }) => {
  app.post<{ Params: { datasource: string }; Body: SyncBody | undefined }>(
    "/v1/sync/:datasource",
    {
      config: { scope: "sync" },
      schema: {
        summary: "Resync a datasource: re-emit its desired key sets in repair mode",
        description:
          "Every scope of the datasource (optionally of one env) is written again from the compacted keysets " +
          "topic; each sink reports the keys whose stored value had drifted.",
        params: { type: "object", properties: { datasource: { type: "string" } }, required: ["datasource"] },
        response: {
          202: {
            type: "object",
            properties: { task_id: { type: "string" }, message: { type: "string" }, received_at: { type: "string" } },
          },
          401: errorSchema,
          403: errorSchema,
          404: errorSchema,
          503: errorSchema,
        },
      },
    },
    async (request, reply) => {
      let body: SyncBody = {};
      const raw = request.body as unknown;
      if (Buffer.isBuffer(raw) && raw.length > 0) {
        try {
          body = JSON.parse(raw.toString("utf8")) as SyncBody;
        } catch {
          throw new ApiError("BAD_JSON");
        }
      }
      const accepted = await intake.resync({
        datasource: request.params.datasource,
        source: "http",
        requestedBy: request.caller?.name ?? "anonymous",
        ...(typeof body.env === "string" ? { env: body.env } : {}),
        ...(typeof body.platform === "string" ? { platform: body.platform } : {}),
        ...(typeof body.tenant === "string" ? { tenant: body.tenant } : {}),
        ...(typeof body.reason === "string" ? { reason: body.reason } : {}),
        ...(body.refetch === true ? { refetch: true } : {}),
      });
      return reply.status(202).send({ ...accepted, message: "accepted" });
    },
  );
};
