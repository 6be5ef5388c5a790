import { errorBody } from "@varstream/shared";
import type { FastifyPluginAsync } from "fastify";
import type { TaskStore } from "../tasks/task-store.ts";

export const healthRoutes: FastifyPluginAsync<{ store: TaskStore; checkKafka: () => Promise<void> }> = async (
  app,
  { store, checkKafka },
) => {
  // The same paths as the ETL's and the sink writer's ops endpoints, beside the API's own.
  for (const path of ["/v1/health", "/health/live"])
    app.get(path, { schema: { summary: "Liveness: the process is up" } }, async () => ({ status: "ok" }));

  for (const path of ["/v1/health/ready", "/health/ready"])
    app.get(
      path,
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
