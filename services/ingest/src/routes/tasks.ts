import { ApiError, errorSchema, TaskState } from "@varstream/shared";
import type { FastifyPluginAsync } from "fastify";
import type { TaskStore } from "../tasks/task-store.ts";

export const taskRoutes: FastifyPluginAsync<{ store: TaskStore }> = async (app, { store }) => {
  app.addHook("onSend", async (_request, reply, payload) => {
    if (!store.caughtUp) reply.header("X-Store-Caught-Up", "false");
    return payload;
  });

  app.get<{ Params: { task_id: string } }>(
    "/v1/tasks/:task_id",
    {
      config: { scope: "tasks:read" },
      schema: {
        summary: "A task's document: state, per-file ETL results and per-sink counts",
        params: { type: "object", properties: { task_id: { type: "string" } }, required: ["task_id"] },
        response: { 404: errorSchema },
      },
    },
    async (request) => {
      const doc = store.get(request.params.task_id);
      if (!doc) throw new ApiError("TASK_NOT_FOUND", `no task ${request.params.task_id}`);
      return doc;
    },
  );

  app.get<{ Querystring: { datasource?: string; state?: string; limit?: number; cursor?: string } }>(
    "/v1/tasks",
    {
      config: { scope: "tasks:read" },
      schema: {
        summary: "Recent tasks, newest first",
        querystring: {
          type: "object",
          properties: {
            datasource: { type: "string" },
            state: { type: "string", enum: TaskState.options },
            limit: { type: "integer", minimum: 1, maximum: 1000, default: 50 },
            cursor: { type: "string" },
          },
        },
        response: { 400: errorSchema },
      },
    },
    async (request) => {
      const { datasource, state, limit, cursor } = request.query;
      return store.list({
        limit: limit ?? 50,
        ...(datasource === undefined ? {} : { datasource }),
        ...(state === undefined ? {} : { state: TaskState.parse(state) }),
        ...(cursor === undefined ? {} : { cursor }),
      });
    },
  );
};
