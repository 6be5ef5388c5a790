import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { loadSettings } from "@varstream/shared";
import {
  freePort,
  GitRepo,
  githubPushPayload,
  githubRequest,
  type Launcher,
  type ServiceName,
  ServiceProcess,
  TEST_KAFKA,
  waitFor,
} from "@varstream/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const IMAGE_SH = join(ROOT, "infra/image/image.sh");
const IMAGE = process.env.VARSTREAM_IMAGE ?? "localhost/varstream:dev";
const run = promisify(execFile);
const buildah = (...args: string[]) => run("bash", [IMAGE_SH, "buildah", ...args], { maxBuffer: 1 << 24 });

/**
 * The image `bash infra/image/image.sh build` makes from the Containerfile (scripts/test.sh builds it, then
 * runs this file with VARSTREAM_IMAGE_TEST=1). podman cannot start containers in this sandbox, so each
 * service runs in the image through `buildah run --isolation chroot`: the image's own filesystem, user,
 * Node, git and CUE helper, on the host's network (the test broker on loopback). A webhook then syncs a
 * file from a repository made in the test to the file sink, as in a deployment of three containers.
 */
describe("the container image", () => {
  let work: string;
  let repo: GitRepo;
  let container: string;
  const procs: ServiceProcess[] = [];
  const ports = { http: 0, grpc: 0, etl: 0, writer: 0 };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "varstream-image-"));
    repo = await GitRepo.create("acme/image", join(work, "git"));
    await mkdir(join(work, "files"));
    // The services run as the image's user (uid 10001): the sink's folder is theirs to write.
    for (const dir of [work, join(work, "files")]) await chmod(dir, 0o777);
    for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
    const bundlePath = join(work, "bundle.json");
    await writeFile(
      bundlePath,
      JSON.stringify({
        bundle: {
          platforms: [{ github: { endpoint: repo.endpoint, insecure_skip_signature: true } }],
          datasources: [{ file: { path: join(work, "files") } }],
          rules: [{ platform: "github", datasource: "file", file_name: "app.json" }],
        },
      }),
    );
    container = `varstream-test-${Date.now().toString(36)}`;
    await buildah("from", "--name", container, IMAGE);
    // The test's repository belongs to root; the image's user fetches from it as a remote.
    await buildah("run", "--isolation", "chroot", container, "--", "git", "config", "--global", "safe.directory", "*");

    // The image defaults to APP_ENV=production, which wants signed webhooks, gRPC mutual TLS and a TLS broker;
    // the test broker is plaintext and the test's webhook unsigned (test/e2e covers production mode).
    const env = ServiceProcess.env(
      loadSettings(
        { KAFKA_BROKERS: TEST_KAFKA },
        { topicPrefix: `timg${Date.now().toString(36)}.`, topicPartitions: 2 },
      ),
      bundlePath,
    );
    const inImage: Launcher = (script, own) => ({
      command: "bash",
      args: [
        IMAGE_SH,
        "buildah",
        "run",
        "--isolation",
        "chroot",
        "--volume",
        `${work}:${work}`,
        ...Object.entries({ ...own, APP_ENV: "development" })
          .filter(([k]) => !k.startsWith("npm_") && k !== "PATH")
          .flatMap(([k, v]) => ["--env", `${k}=${v}`]),
        container,
        "--",
        "node",
        "--disable-warning=ExperimentalWarning",
        script,
      ],
    });
    const start = async (service: ServiceName, extra: Record<string, string>) => {
      procs.push(await ServiceProcess.start(service, service, { ...env, ...extra }, inImage));
    };
    await start("ingest", { HTTP_ADDR: `127.0.0.1:${ports.http}`, ORCHESTRATOR_ADDR: `127.0.0.1:${ports.grpc}` });
    await start("etl", { OPS_ADDR: `127.0.0.1:${ports.etl}` });
    await start("sink-writer", { OPS_ADDR: `127.0.0.1:${ports.writer}` });
  }, 180_000);

  afterAll(async () => {
    for (const p of procs) await p.stop();
    if (container) await buildah("rm", container).catch(() => undefined);
    await repo?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("holds Node 24, git and the built CUE helper, and runs as a user other than root", async () => {
    const { stdout } = await buildah(
      "run",
      "--isolation",
      "chroot",
      container,
      "--",
      "sh",
      "-c",
      "id -u; node --version; git --version; test -x .cache/cue/current-helper && echo helper",
    );
    const [uid, node, git, helper] = stdout.trim().split("\n");
    expect(uid).toBe("10001");
    expect(node).toMatch(/^v24\./);
    expect(git).toMatch(/^git version /);
    expect(helper).toBe("helper");
  });

  it("syncs a pushed file to the file sink with the three services running from the image", async () => {
    for (const port of [ports.http, ports.etl, ports.writer]) {
      expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200);
    }
    const commit = await repo.commit({ "app.json": '{"db": {"host": "image"}, "replicas": 2}' });
    const { headers, body } = githubRequest(githubPushPayload(repo, commit));
    const res = await fetch(`http://127.0.0.1:${ports.http}/v1/webhooks/file`, { method: "POST", headers, body });
    expect(res.status).toBe(202);
    const { task_id } = (await res.json()) as { task_id: string };
    // the rule's default destination, `{env}/{file_stem}`; without a branch_map the env is `default`
    const target = join(work, "files", "default", "app.json");
    await waitFor(async () => (await readFile(target, "utf8").catch(() => "")).includes("image"), {
      what: "the file sink written from the image",
      timeoutMs: 60_000,
    }).catch(async (err: Error) => {
      const written = await readdir(join(work, "files"), { recursive: true }).catch(() => []);
      const logs = procs.map((p) => `${p.name}: ${p.logs.slice(-3000)}`).join("\n");
      throw new Error(`${err.message}; written: ${written.join(", ")}\n${logs}`);
    });
    expect(JSON.parse(await readFile(target, "utf8"))).toEqual({ db: { host: "image" }, replicas: 2 });
    await waitFor(
      async () => {
        const task = await fetch(`http://127.0.0.1:${ports.http}/v1/tasks/${task_id}`);
        return task.ok && ((await task.json()) as { state: string }).state === "SUCCEEDED";
      },
      { what: "the task SUCCEEDED" },
    );
  }, 120_000);
});
