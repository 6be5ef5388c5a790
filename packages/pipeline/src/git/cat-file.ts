import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";

export interface GitObject {
  type: string;
  content: Buffer;
}

interface Pending {
  resolve: (object: GitObject | null) => void;
  reject: (err: Error) => void;
}

/**
 * One long-lived `git cat-file --batch` per repository: a blob read costs a pipe round trip instead of
 * a process spawn (about 0.2 ms against 3 ms). Requests are answered in order.
 */
export class CatFileBatch {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly queue: Pending[] = [];
  private buffer: Buffer = Buffer.alloc(0);
  private failed: Error | undefined;

  constructor(gitDir: string) {
    this.child = spawn("git", ["--git-dir", gitDir, "cat-file", "--batch"], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, GIT_TERMINAL_PROMPT: "0" },
    });
    this.child.stdout.on("data", (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.drain();
    });
    const fail = (err: Error) => {
      this.failed = err;
      for (const p of this.queue.splice(0)) p.reject(err);
    };
    this.child.on("error", fail);
    this.child.on("exit", (code) => fail(new Error(`git cat-file exited with ${code}`)));
    this.child.stdin.on("error", fail);
  }

  /** the process died (killed, crashed): its reader makes a new one */
  get dead(): boolean {
    return this.failed !== undefined;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The object a revision names (`<sha>^{commit}`, `<sha>:<path>`), or null when there is none. */
  object(revision: string): Promise<GitObject | null> {
    if (this.failed) return Promise.reject(this.failed);
    if (/[\n\r]/.test(revision)) return Promise.reject(new Error("revision contains a line break"));
    return new Promise((resolve, reject) => {
      this.queue.push({ resolve, reject });
      this.child.stdin.write(`${revision}\n`);
    });
  }

  /** The blob at `<commit>:<path>`, or null when the path is absent there (or is not a file). */
  async blob(commit: string, path: string): Promise<Buffer | null> {
    const found = await this.object(`${commit}:${path}`);
    return found?.type === "blob" ? found.content : null;
  }

  private drain(): void {
    for (;;) {
      const head = this.queue[0];
      if (!head) return;
      const eol = this.buffer.indexOf(10);
      if (eol < 0) return;
      const header = this.buffer.subarray(0, eol).toString("utf8");
      if (header.endsWith(" missing") || header.endsWith(" ambiguous")) {
        this.buffer = this.buffer.subarray(eol + 1);
        this.queue.shift();
        head.resolve(null);
        continue;
      }
      const [, type, sizeText] = header.split(" ");
      const size = Number(sizeText);
      if (this.buffer.length < eol + 1 + size + 1) return;
      const content = Buffer.from(this.buffer.subarray(eol + 1, eol + 1 + size));
      this.buffer = this.buffer.subarray(eol + 1 + size + 1);
      this.queue.shift();
      head.resolve({ type: type ?? "", content });
    }
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}
