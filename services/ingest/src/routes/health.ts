import { errorBody } from "@varstream/shared";
import type { FastifyPluginAsync } from "fastify";
import type { TaskStore } from "../tasks/task-store.ts";

export const healthRoutes: FastifyPluginAsync<{ store: TaskStore; checkKafka: () => Promise<void> }> = async (
  app,
  { store, checkKafka },
) => {
  app.get("/v1/health", { schema: { summary: "Liveness: the process is up" } }, async () => ({ status: "ok" }));

  app.get(
    "/v1/health/ready",
    { schema: { summary: "Readiness: Kafka reachable, topics present, task store caught up" } },
    async (_request, reply) => {
      try {
        await checkKafka();
      } catch (err) {
        return reply.status(503).send(errorBody("NOT_READY", `kafka: ${(err as Error).message}`));
      }
      if (!store.caughtUp) return reply.status(503).send(errorBody("NOT_READY", "task store is catching up"));
      return { status: "ready", tasks: store.size };
    },
  );
};
