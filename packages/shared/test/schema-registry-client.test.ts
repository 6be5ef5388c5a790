import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { DecodeError, FRAMED_CONTENT_TYPE, framed, RegistryCodec, SchemaRegistryError } from "../src/index.ts";

/**
 * A registry speaking the Confluent API that can leave chosen requests without an answer: the one
 * failure a timeout alone turns into something a caller can handle.
 */
class SilentRegistry {
  readonly seen: string[] = [];
  private readonly configs = new Set<string>();
  private readonly held: ServerResponse[] = [];
  private server: Server | undefined;
  /** `true` to leave the request unanswered */
  private readonly hold: (method: string, path: string, nth: number) => boolean;
  constructor(hold: (method: string, path: string, nth: number) => boolean) {
    this.hold = hold;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.answer(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    req.on("end", () => {
      const path = (req.url ?? "").split("?")[0]!;
      const key = `${req.method} ${path}`;
      this.seen.push(key);
      if (this.hold(req.method ?? "", path, this.seen.filter((s) => s === key).length)) {
        this.held.push(res);
        return;
      }
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/vnd.schemaregistry.v1+json" });
        res.end(JSON.stringify(body));
      };
      const config = path.match(/^\/config\/(.+)$/);
      if (config && req.method === "GET") {
        return this.configs.has(config[1]!)
          ? json(200, { compatibilityLevel: "BACKWARD" })
          : json(404, { error_code: 40401, message: "no config" });
      }
      if (config && req.method === "PUT") {
        this.configs.add(config[1]!);
        return json(200, { compatibility: "BACKWARD" });
      }
      if (/^\/subjects\/.+\/versions$/.test(path) && req.method === "POST") return json(200, { id: 7 });
      if (path === "/schemas/ids/7") return json(200, { schema: JSON.stringify({ type: "object" }) });
      json(404, { error_code: 40403, message: "schema not found" });
    });
  }

  async stop(): Promise<void> {
    for (const res of this.held) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

describe("schema registry client: no answer is not a hang", () => {
  let registry: SilentRegistry | undefined;
  afterEach(async () => {
    await registry?.stop();
    registry = undefined;
  });

  it("a registration whose answer never comes is sent again, and the start goes on", async () => {
    registry = new SilentRegistry((method, path, nth) => method === "POST" && path.includes("/versions") && nth === 1);
    const url = await registry.start();
    const codec = new RegistryCodec({ url }, { requestTimeoutMs: 300 });
    expect(await codec.register("t.keysets", "keyset")).toBe(7);
    expect(registry.seen.filter((s) => s.startsWith("POST"))).toHaveLength(2);
  });

  it("a registry that keeps silent stops the start with its address after the attempts", async () => {
    registry = new SilentRegistry((method) => method === "POST");
    const url = await registry.start();
    const codec = new RegistryCodec({ url }, { requestTimeoutMs: 200, registerAttempts: 3 });
    const err = await codec.register("t.status", "status").catch((e: Error) => e);
    expect(err).toBeInstanceOf(SchemaRegistryError);
    expect((err as Error).message).toContain(`${url} is not reachable (3 attempts at t.status-value)`);
    expect(registry.seen.filter((s) => s.startsWith("POST"))).toHaveLength(3);
  });

  it("a compatibility read that never answers is tried again too", async () => {
    registry = new SilentRegistry((method, path, nth) => method === "GET" && path.startsWith("/config/") && nth === 1);
    const url = await registry.start();
    const codec = new RegistryCodec({ url }, { requestTimeoutMs: 200 });
    expect(await codec.register("t.webhooks", "event")).toBe(7);
  });

  it("a schema lookup without an answer, or refused, is transient when decoding: the record is read again", async () => {
    registry = new SilentRegistry((method, path) => method === "GET" && path === "/schemas/ids/7");
    const url = await registry.start();
    const value = framed(7, JSON.stringify({ a: 1 }));
    const headers = { "content-type": FRAMED_CONTENT_TYPE };
    const silent = await new RegistryCodec({ url }, { requestTimeoutMs: 200 })
      .decode(z.object({ a: z.number() }), value, headers)
      .catch((e: Error) => e);
    expect(silent).toBeInstanceOf(Error);
    expect(silent).not.toBeInstanceOf(DecodeError);
    await registry.stop();
    const refused = await new RegistryCodec({ url }, { requestTimeoutMs: 200 })
      .decode(z.object({ a: z.number() }), value, headers)
      .catch((e: Error) => e);
    expect(refused).toBeInstanceOf(Error);
    expect(refused).not.toBeInstanceOf(DecodeError);
  });
});
