import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Logger } from "../log.ts";
import { registry } from "../metrics.ts";

/** What a service says about itself to a readiness probe: ready or not, and each check's state. */
export interface Readiness {
  ready: boolean;
  /** check name → "ok" or why not */
  checks: Record<string, string>;
}

export interface OpsServerOptions {
  service: string;
  host: string;
  port: number;
  /** the service's own readiness; liveness is the process answering at all */
  readiness: () => Readiness | Promise<Readiness>;
  logger: Logger;
}

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The operations endpoints of a service without an API of its own (the ETL, the sink writer): its
 * metrics for Prometheus (`GET /metrics`), `GET /health/live` for a liveness probe (the process answers)
 * and `GET /health/ready` for a readiness probe (200 when ready, 503 with the failing checks).
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const send = (res: ServerResponse, status: number, type: string, body: string) => {
    res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
    res.end(body);
  };
  const json = (res: ServerResponse, status: number, body: unknown) =>
    send(res, status, "application/json", `${JSON.stringify(body)}\n`);
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") return json(res, 405, { code: "METHOD_NOT_ALLOWED" });
    if (path === "/metrics") return send(res, 200, registry.contentType, await registry.metrics());
    if (path === "/health/live") return json(res, 200, { status: "ok", service: options.service });
    if (path === "/health/ready") {
      const { ready, checks } = await options.readiness();
      return json(res, ready ? 200 : 503, { status: ready ? "ok" : "unavailable", service: options.service, checks });
    }
    return json(res, 404, { code: "NOT_FOUND" });
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      options.logger.warn({ err }, "ops endpoint failed");
      if (!res.headersSent) json(res, 500, { code: "INTERNAL", message: err.message });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  options.logger.info({ host: options.host, port }, "ops endpoints listening (/metrics, /health/live, /health/ready)");
  return {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
