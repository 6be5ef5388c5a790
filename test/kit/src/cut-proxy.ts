import { createConnection, createServer, type Server, type Socket } from "node:net";

/** When an armed cut fires: after this many more bytes from the client, or where this text shows up. */
export type CutTrigger = { afterBytes: number } | { marker: string };

/**
 * A TCP proxy in front of a real server, for outage tests. `cut()` arms a cut: when the client has sent
 * the trigger, the bytes before it are passed on and the server's side is closed right there, the
 * client's connections are reset, and new ones are refused until `up()`. To a client the server went
 * away in the middle of what it was sending; the server sees a request that never finished.
 * `stall()` is the other outage: the server hangs — connections stay open, nothing gets through — until
 * `resume()`.
 */
export class CutProxy {
  private readonly server: Server;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  private isDown = false;
  private stalled = false;
  private trigger: CutTrigger | undefined;
  private sent = 0;
  private fired: (() => void) | undefined;

  private constructor(server: Server) {
    this.server = server;
  }

  static async start(target: { host?: string; port: number }): Promise<CutProxy> {
    const server = createServer();
    const proxy = new CutProxy(server);
    server.on("connection", (client) => proxy.accept(client, target.host ?? "127.0.0.1", target.port));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  /** Arms a cut; resolves once it fired. */
  cut(trigger: CutTrigger): Promise<void> {
    this.trigger = trigger;
    this.sent = 0;
    return new Promise((resolve) => {
      this.fired = resolve;
    });
  }

  /** The server goes away now: every connection reset, new ones refused. */
  down(): void {
    this.isDown = true;
    for (const pair of this.pairs) {
      pair.upstream.destroy();
      pair.client.resetAndDestroy();
    }
    this.pairs.clear();
  }

  /** The server is back. */
  up(): void {
    this.isDown = false;
  }

  /** The server hangs: nothing passes either way, connections stay open. */
  stall(): void {
    this.stalled = true;
    for (const { client, upstream } of this.pairs) {
      client.pause();
      upstream.pause();
    }
  }

  /** The hung server answers again: what waited passes on. */
  resume(): void {
    this.stalled = false;
    for (const { client, upstream } of this.pairs) {
      client.resume();
      upstream.resume();
    }
  }

  async close(): Promise<void> {
    this.down();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, host: string, port: number): void {
    if (this.isDown) {
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection(port, host);
    const pair = { client, upstream };
    this.pairs.add(pair);
    if (this.stalled) {
      client.pause();
      upstream.pause();
    }
    const drop = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    upstream.on("error", drop).on("close", drop);
    client.on("error", drop).on("close", drop);
    upstream.on("data", (chunk: Buffer) => client.write(chunk));
    let tail: Buffer = Buffer.alloc(0);
    client.on("data", (chunk: Buffer) => {
      if (this.isDown) return;
      const at = this.cutPoint(chunk, tail);
      if (at === undefined) {
        this.sent += chunk.length;
        tail = chunk.subarray(Math.max(0, chunk.length - 256));
        upstream.write(chunk);
        return;
      }
      // Pass on what came before the cut, close the server's side after it, and drop everyone.
      this.pairs.delete(pair);
      upstream.end(chunk.subarray(0, at), () => upstream.destroy());
      this.trigger = undefined;
      this.down();
      client.resetAndDestroy();
      this.fired?.();
    });
  }

  /** Where in `chunk` an armed trigger falls, if it does. */
  private cutPoint(chunk: Buffer, tail: Buffer): number | undefined {
    const trigger = this.trigger;
    if (trigger === undefined) return undefined;
    if ("afterBytes" in trigger) {
      const left = trigger.afterBytes - this.sent;
      return left < chunk.length ? Math.max(0, left) : undefined;
    }
    const index = Buffer.concat([tail, chunk]).indexOf(trigger.marker);
    return index < 0 ? undefined : Math.max(0, index - tail.length);
  }
}
