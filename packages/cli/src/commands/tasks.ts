import type { TaskDocument } from "@varstream/shared";
import { TERMINAL_STATES } from "@varstream/shared";

/** The control-plane token header (VARSTREAM_TOKEN), when one is set. */
export function authHeader(token = process.env.VARSTREAM_TOKEN): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** A client of ingest's HTTP API (VARSTREAM_URL, default http://127.0.0.1:8000; VARSTREAM_TOKEN its token). */
export class ApiClient {
  readonly base: string;
  private readonly token: string | undefined;
  constructor(base = process.env.VARSTREAM_URL ?? "http://127.0.0.1:8000", token = process.env.VARSTREAM_TOKEN) {
    this.base = base.replace(/\/+$/, "");
    this.token = token;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: {
        ...authHeader(this.token),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await res.json().catch(() => ({}))) as T & { error?: { code: string; message: string } };
    if (!res.ok) throw new Error(json.error ? `${json.error.code}: ${json.error.message}` : `HTTP ${res.status}`);
    return json;
  }

  task(id: string): Promise<TaskDocument> {
    return this.request("GET", `/v1/tasks/${encodeURIComponent(id)}`);
  }

  tasks(query: Record<string, string | undefined>): Promise<{ tasks: TaskDocument[]; next_cursor?: string }> {
    const params = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined));
    return this.request("GET", `/v1/tasks?${params}`);
  }

  sync(datasource: string, body: Record<string, string | undefined>): Promise<{ task_id: string }> {
    return this.request("POST", `/v1/sync/${encodeURIComponent(datasource)}`, body);
  }

  /** Polls a task, calling `onChange` at every state change, until it ends. */
  /**
   * Polls the task until it is in a final state, calling `onChange` whenever its state, message or any
   * sink's state changed; undefined when `timeoutMs` passed first (the last document seen goes to
   * `onChange` as it was).
   */
  async watch(
    id: string,
    onChange: (doc: TaskDocument) => void,
    options: { intervalMs?: number; timeoutMs?: number } = {},
  ): Promise<TaskDocument | undefined> {
    const interval = options.intervalMs ?? 250;
    const deadline = options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
    let last = "";
    for (;;) {
      const doc = await this.task(id);
      const sinks = Object.entries(doc.sinks).map(([name, s]) => `${name}=${s.state}`);
      const seen = `${doc.state} ${doc.message} ${sinks.join(" ")}`;
      if (seen !== last) {
        onChange(doc);
        last = seen;
      }
      if (TERMINAL_STATES.has(doc.state)) return doc;
      if (Date.now() + interval > deadline) return undefined;
      await new Promise((resolve) => setTimeout(resolve, interval));
    }
  }
}

/** One line a person reads: state, id, what, message. */
export function taskLine(doc: TaskDocument): string {
  const what = [doc.datasource, doc.repo, doc.commit?.slice(0, 12), doc.env].filter(Boolean).join(" ");
  return `${doc.state.padEnd(9)} ${doc.task_id}  ${what}  ${doc.message}`;
}

/** The task's line and, under it, each sink's state and scopes done (what `task watch` prints). */
export function progressLines(doc: TaskDocument): string {
  const sinks = Object.entries(doc.sinks).map(
    ([name, s]) => `  ${name}: ${s.state} (${s.scopes.length} scope${s.scopes.length === 1 ? "" : "s"})`,
  );
  return [taskLine(doc), ...sinks].join("\n");
}

/** `task watch`'s exit code: 0 SUCCEEDED, 1 FAILED or PARTIAL, 3 not final when the timeout passed. */
export function watchExit(doc: TaskDocument | undefined): number {
  if (doc === undefined) return 3;
  return doc.state === "SUCCEEDED" ? 0 : 1;
}

/** A task document as a person reads it. */
export function taskReport(doc: TaskDocument): string {
  const lines = [taskLine(doc)];
  for (const file of doc.etl.files) {
    lines.push(`  file ${file.path} (${file.format}, ${file.keys} keys, validation ${file.validation.status})`);
    for (const e of file.validation.errors) lines.push(`    ${e.path || "(root)"}: ${e.message}`);
    if (file.error) lines.push(`    error: ${file.error}`);
  }
  for (const [name, sink] of Object.entries(doc.sinks)) {
    lines.push(`  sink ${name}: ${sink.state}`);
    for (const s of sink.scopes) {
      const repaired = s.repaired ? `, repaired ${s.repaired.join(" ") || "nothing"}` : "";
      lines.push(
        `    ${s.scope}: set ${s.set}, unchanged ${s.unchanged}, pruned ${s.pruned}${repaired}${s.error ? `, error: ${s.error}` : ""}`,
      );
    }
  }
  for (const w of doc.warnings) lines.push(`  warning: ${w}`);
  return lines.join("\n");
}
