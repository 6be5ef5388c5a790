import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "./wait.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** A private CA and a server certificate for 127.0.0.1, made by infra/tls/make-cert.sh. */
export interface TestCert {
  ca: string;
  cert: string;
  key: string;
}

export function makeCert(dir: string): TestCert {
  execFileSync("bash", [join(ROOT, "infra/tls/make-cert.sh"), dir]);
  return { ca: join(dir, "ca.crt"), cert: join(dir, "server.crt"), key: join(dir, "server.key") };
}

/** A loopback port nobody listens on: the kernel picks one, and it is let go again for the caller. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(port, "127.0.0.1", () => {
      socket.end();
      resolve(true);
    }).on("error", () => resolve(false));
  });
}

/**
 * A server process of a test's own (Debian's binaries), on a port of its own, so the test can stop it,
 * start it again, or configure it in ways the shared test servers are not (TLS, users, auth).
 */
export class TestServer {
  readonly port: number;
  readonly dir: string;
  private readonly command: string;
  private readonly args: string[];
  private child: ChildProcess | undefined;

  private constructor(command: string, args: string[], port: number, dir: string) {
    this.command = command;
    this.args = args;
    this.port = port;
    this.dir = dir;
  }

  /**
   * redis-server; `tls` makes its only port a TLS one, `users` are ACL lines (`name on >password …`);
   * with users, the default user is off. `persist` keeps the data across stop and start (saved at stop).
   */
  static async redis(
    options: { tls?: boolean; users?: string[][]; persist?: boolean; replicaOf?: number; cluster?: boolean } = {},
  ): Promise<TestServer> {
    const port = await freePort();
    const dir = await mkdtemp(join(tmpdir(), "varstream-redis-"));
    const save = options.persist ? ["--save", "3600", "1"] : ["--save", ""];
    const args = ["--bind", "127.0.0.1", "--dir", dir, ...save, "--appendonly", "no"];
    if (options.tls) {
      const cert = makeCert(join(dir, "tls"));
      args.push("--port", "0", "--tls-port", String(port), "--tls-cert-file", cert.cert);
      args.push("--tls-key-file", cert.key, "--tls-ca-cert-file", cert.ca, "--tls-auth-clients", "no");
    } else args.push("--port", String(port));
    if (options.replicaOf !== undefined) args.push("--replicaof", "127.0.0.1", String(options.replicaOf));
    if (options.cluster) {
      args.push("--cluster-enabled", "yes", "--cluster-config-file", join(dir, "nodes.conf"));
      args.push("--cluster-node-timeout", "2000");
    }
    if (options.users) {
      args.push("--user", "default", "off");
      for (const user of options.users) args.push("--user", ...user);
    }
    return new TestServer("redis-server", args, port, dir).start();
  }

  /**
   * A Redis Cluster of `size` masters (no replicas), its slots spread by `redis-cli --cluster create`;
   * resolves once every node reports the cluster ok.
   */
  static async redisCluster(size = 3): Promise<TestServer[]> {
    const nodes = await Promise.all(Array.from({ length: size }, () => TestServer.redis({ cluster: true })));
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
    execFileSync("redis-cli", ["--cluster", "create", ...addresses, "--cluster-replicas", "0", "--cluster-yes"], {
      stdio: "ignore",
    });
    for (const node of nodes) {
      await waitFor(
        () =>
          execFileSync("redis-cli", ["-p", String(node.port), "cluster", "info"], { encoding: "utf8" }).includes(
            "cluster_state:ok",
          ),
        { what: `redis cluster node ${node.port} ok`, timeoutMs: 20_000 },
      );
    }
    return nodes;
  }

  /**
   * A Redis Sentinel (redis-server in sentinel mode) watching the master on `masterPort` as `name`,
   * with a quorum of one and quick failure detection (1 s), so a test can see a failover.
   */
  static async sentinel(masterPort: number, name = "mymaster"): Promise<TestServer> {
    const port = await freePort();
    const dir = await mkdtemp(join(tmpdir(), "varstream-sentinel-"));
    const conf = join(dir, "sentinel.conf");
    await writeFile(
      conf,
      [
        `port ${port}`,
        "bind 127.0.0.1",
        `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${masterPort} 1`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 5000`,
        "",
      ].join("\n"),
    );
    return new TestServer("redis-server", [conf, "--sentinel"], port, dir).start();
  }

  /** A single-member etcd; `tls` serves clients over https with a certificate of a private CA. */
  static async etcd(options: { tls?: boolean } = {}): Promise<TestServer> {
    const port = await freePort();
    let peer = await freePort();
    while (peer === port) peer = await freePort();
    const dir = await mkdtemp(join(tmpdir(), "varstream-etcd-"));
    const scheme = options.tls ? "https" : "http";
    const args = [
      "--name",
      "test",
      "--data-dir",
      join(dir, "data"),
      "--listen-client-urls",
      `${scheme}://127.0.0.1:${port}`,
      "--advertise-client-urls",
      `${scheme}://127.0.0.1:${port}`,
      "--listen-peer-urls",
      `http://127.0.0.1:${peer}`,
      "--initial-advertise-peer-urls",
      `http://127.0.0.1:${peer}`,
      "--initial-cluster",
      `test=http://127.0.0.1:${peer}`,
    ];
    if (options.tls) {
      const cert = makeCert(join(dir, "tls"));
      args.push("--cert-file", cert.cert, "--key-file", cert.key);
    }
    return new TestServer("etcd", args, port, dir).start();
  }

  /**
   * FerretDB (built by infra/mongo/mongo.sh) over SQLite; `tls` serves only TLS with a certificate of a
   * private CA, `user` turns authentication on with that user (`[name, password]`).
   */
  static async mongo(options: { tls?: boolean; user?: [string, string] } = {}): Promise<TestServer> {
    const port = await freePort();
    let debug = await freePort();
    while (debug === port) debug = await freePort();
    const dir = await mkdtemp(join(tmpdir(), "varstream-mongo-"));
    const args = ["--handler=sqlite", `--sqlite-url=file:${dir}/`, `--state-dir=${dir}`, "--telemetry=disable"];
    args.push(`--debug-addr=127.0.0.1:${debug}`, "--log-level=ERROR");
    if (options.tls) {
      const cert = makeCert(join(dir, "tls"));
      args.push("--listen-addr=", `--listen-tls=127.0.0.1:${port}`);
      args.push(`--listen-tls-cert-file=${cert.cert}`, `--listen-tls-key-file=${cert.key}`);
    } else args.push(`--listen-addr=127.0.0.1:${port}`);
    if (options.user) {
      const [name, password] = options.user;
      args.push("--test-enable-new-auth", "--setup-database=admin", `--setup-username=${name}`);
      args.push(`--setup-password=${password}`);
    }
    return new TestServer(join(ROOT, ".cache/ferretdb/ferretdb-v1.24.2"), args, port, dir).start();
  }

  /**
   * Debian's Prometheus (infra/prometheus/prometheus.sh installs it), scraping `targets` (job → `host:port`
   * list) every second.
   */
  static async prometheus(targets: Record<string, string[]>): Promise<TestServer> {
    const port = await freePort();
    const dir = await mkdtemp(join(tmpdir(), "varstream-prometheus-"));
    const jobs = Object.entries(targets).map(
      ([job, list]) =>
        `  - job_name: ${job}\n    static_configs:\n      - targets: [${list.map((t) => `"${t}"`).join(", ")}]`,
    );
    await writeFile(
      join(dir, "prometheus.yml"),
      `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n${jobs.join("\n")}\n`,
    );
    const args = [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`];
    args.push(`--web.listen-address=127.0.0.1:${port}`, "--log.level=warn");
    return new TestServer("prometheus", args, port, dir).start();
  }

  get ca(): string {
    return join(this.dir, "tls", "ca.crt");
  }

  async start(): Promise<this> {
    this.child = spawn(this.command, this.args, { stdio: "ignore" });
    await waitFor(() => listening(this.port), { what: `${this.command} on ${this.port}`, timeoutMs: 20_000 });
    return this;
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
}
