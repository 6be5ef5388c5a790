import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { access } from "node:fs/promises";
import { type Answer, JsonEvaluator } from "./evaluator.ts";
import { cacheFile } from "./paths.ts";

interface Pending {
  resolve: (answer: Answer) => void;
  reject: (err: Error) => void;
}

/**
 * cuelang.org/go as one long-lived helper process per Node process (never one per call), speaking
 * length-prefixed JSON frames on stdio. Requests are answered in order. A helper that dies (killed,
 * out of memory) fails the requests it held — their events are retried — and the next request starts
 * a new one.
 */
export class NativeCue extends JsonEvaluator {
  readonly backend = "native";
  private readonly path: string;
  private child!: ChildProcessWithoutNullStreams;
  private queue: Pending[] = [];
  private buffer: Buffer = Buffer.alloc(0);
  private dead = false;
  /** helpers started after the first one died */
  respawns = 0;

  /** the running helper's process id */
  get pid(): number | undefined {
    return this.child.pid;
  }

  private constructor(path: string) {
    super();
    this.path = path;
    this.spawnHelper();
  }

  private spawnHelper(): void {
    const child = spawn(this.path, [], { stdio: ["pipe", "pipe", "pipe"] });
    const queue: Pending[] = [];
    this.child = child;
    this.queue = queue;
    this.buffer = Buffer.alloc(0);
    this.dead = false;
    child.stdout.on("data", (chunk: Buffer) => {
      if (this.child !== child) return;
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.drain();
    });
    const fail = (err: Error) => {
      if (this.child === child) this.dead = true;
      for (const p of queue.splice(0)) p.reject(err);
    };
    child.on("error", fail);
    child.on("exit", (code, signal) => fail(new Error(`CUE helper exited (${code ?? signal})`)));
    child.stdin.on("error", fail);
    // An idle helper must not keep a finished process alive; one with answers pending must.
    this.hold(false);
  }

  private hold(on: boolean): void {
    for (const handle of [this.child, this.child.stdout, this.child.stderr, this.child.stdin]) {
      const h = handle as unknown as { ref?: () => void; unref?: () => void };
      if (on) h.ref?.();
      else h.unref?.();
    }
  }

  static async load(path = cacheFile("current-helper")): Promise<NativeCue> {
    try {
      await access(path);
    } catch {
      throw new Error(`CUE helper not built at ${path} (run bash packages/cue/build.sh)`);
    }
    return new NativeCue(path);
  }

  protected call(request: object): Promise<Answer> {
    if (this.dead) {
      this.respawns += 1;
      this.spawnHelper();
      this.forgetCompiled();
    }
    const body = Buffer.from(JSON.stringify(request), "utf8");
    const frame = Buffer.allocUnsafe(4 + body.length);
    frame.writeUInt32BE(body.length, 0);
    body.copy(frame, 4);
    return new Promise((resolve, reject) => {
      if (this.queue.length === 0) this.hold(true);
      this.queue.push({ resolve, reject });
      this.child.stdin.write(frame);
    });
  }

  private drain(): void {
    while (this.buffer.length >= 4) {
      const size = this.buffer.readUInt32BE(0);
      if (this.buffer.length < 4 + size) return;
      const text = this.buffer.toString("utf8", 4, 4 + size);
      this.buffer = this.buffer.subarray(4 + size);
      const pending = this.queue.shift();
      if (this.queue.length === 0) this.hold(false);
      if (!pending) continue;
      try {
        pending.resolve(JSON.parse(text) as Answer);
      } catch (err) {
        pending.reject(err as Error);
      }
    }
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}
