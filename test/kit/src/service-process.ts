import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Settings } from "@varstream/shared";
import { waitFor } from "./wait.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

export type ServiceName = "ingest" | "etl" | "sink-writer";

/** The log line each service writes once it is consuming (or listening). */
const READY: Record<ServiceName, string> = {
  ingest: "ingest listening",
  etl: "etl consuming",
  "sink-writer": "sink group consuming",
};

/**
 * How to start a service other than `node <script>` in this checkout (the image test runs it inside the
 * built image): given the script's path from the repository root and the service's own environment.
 */
export type Launcher = (script: string, env: Record<string, string>) => { command: string; args: string[] };

/** One service as its own process (`node services/<name>/src/main.ts`), its log lines kept. */
export class ServiceProcess {
  readonly child: ChildProcess;
  readonly name: string;
  private text = "";
  private readonly group: boolean;
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(service: ServiceName, name: string, env: Record<string, string>, launch?: Launcher) {
    this.name = name;
    // Several processes of one service run side by side in tests: each its own ops port.
    const own = { OPS_ADDR: "127.0.0.1:0", ...env };
    const script = `services/${service}/src/main.ts`;
    const { command, args } = launch?.(script, own) ?? {
      command: process.execPath,
      args: ["--no-warnings", join(ROOT, script)],
    };
    // A launched service (buildah run …) is a process group of its own: stopping it reaches the service
    // inside, not only the launcher.
    this.child = spawn(command, args, {
      env: { ...process.env, ...own },
      stdio: ["ignore", "pipe", "pipe"],
      detached: launch !== undefined,
    });
    this.group = launch !== undefined;
    const keep = (chunk: Buffer) => {
      this.text += chunk.toString();
    };
    this.child.stdout?.on("data", keep);
    this.child.stderr?.on("data", keep);
    this.exited = new Promise((resolve) => this.child.on("exit", (code, signal) => resolve({ code, signal })));
  }

  /** Starts the service and waits until it logs that it is ready. */
  static async start(
    service: ServiceName,
    name: string,
    env: Record<string, string>,
    launch?: Launcher,
  ): Promise<ServiceProcess> {
    const p = new ServiceProcess(service, name, env, launch);
    try {
      await waitFor(() => p.lines(READY[service]).length > 0, { what: `${name} ready`, timeoutMs: 60_000 });
    } catch (err) {
      await p.stop(); // never left running behind a failed start
      throw err;
    }
    return p;
  }

  /** The environment a service process needs to join the pipeline of `settings`. */
  static env(settings: Settings, configPath: string): Record<string, string> {
    return {
      CONFIG_PATH: configPath,
      KAFKA_BROKERS: settings.kafkaBrokers.join(","),
      TOPIC_PREFIX: settings.topicPrefix,
      TOPIC_PARTITIONS: String(settings.topicPartitions),
      LOG_LEVEL: "info",
      ...(settings.schemaRegistry ? { KAFKA_SCHEMA_REGISTRY_URL: settings.schemaRegistry.url } : {}),
    };
  }

  get logs(): string {
    return this.text;
  }

  /** Parsed JSON log lines whose `msg` matches. */
  lines(msg: string | RegExp): Record<string, unknown>[] {
    return this.text
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => (typeof msg === "string" ? l.msg === msg : msg.test(String(l.msg))));
  }

  signal(sig: NodeJS.Signals): void {
    if (this.group && this.child.pid !== undefined) {
      try {
        process.kill(-this.child.pid, sig);
        return;
      } catch {
        // the group is gone already
      }
    }
    this.child.kill(sig);
  }

  /** SIGTERM (after SIGCONT, in case it was stopped), then SIGKILL if it lingers. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.signal("SIGCONT");
    this.signal("SIGTERM");
    const timer = setTimeout(() => this.signal("SIGKILL"), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}
