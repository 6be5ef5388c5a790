import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const CHART = join(ROOT, "deploy/helm/varstream");
const HELM = execFileSync("bash", [join(ROOT, "infra/helm/helm.sh"), "build"], { encoding: "utf8" }).trim();
/** an admin kubeconfig of the API server infra/kube/kube.sh runs (scripts/test.sh's kube lane sets it) */
const KUBECONFIG = process.env.VARSTREAM_KUBECONFIG!;

const helm = (args: string[]) => spawnSync(HELM, [...args, "--kubeconfig", KUBECONFIG], { encoding: "utf8" });

/**
 * The chart installed on a real Kubernetes API server (kube-apiserver, no controllers: objects are stored,
 * no pod runs). helm v4 installs with server-side apply, so every rendered object is checked against the
 * server's own schemas — a misspelt field or a wrong type is refused — and the upgrade path is exercised.
 * The ServiceMonitor is left out: its CRD belongs to the Prometheus operator, which is not installed here.
 */
describe("the Helm chart on a real API server", () => {
  const namespace = `vs-chart-${Date.now().toString(36)}`;
  const values = {
    bundle: { content: readFileSync(join(ROOT, "examples/bundles/github-file.cue"), "utf8") },
    secretRefs: ["varstream-credentials"],
    kafka: { tlsSecret: "kafka-ca", tlsClientCert: true, security: { KAFKA_SECURITY_PROTOCOL: "SSL" } },
    ingest: { grpcTlsSecret: "ingest-grpc", service: { type: "LoadBalancer" } },
    sinkWriters: [
      { name: "redis", sinks: "redis-cache", replicas: 2, resources: {} },
      { name: "rest", sinks: "", replicas: 1, resources: { limits: { memory: "1Gi" } } },
    ],
  };
  let dir: string | undefined;
  let n = 0;
  const valuesFile = async (v: unknown) => {
    dir ??= await mkdtemp(join(tmpdir(), "varstream-kube-helm-"));
    const file = join(dir, `values-${n++}.yaml`);
    await writeFile(file, stringify(v));
    return file;
  };
  const upgrade = async (v: unknown) =>
    helm(["upgrade", "prod", CHART, "--namespace", namespace, "-f", await valuesFile(v)]);
  afterAll(async () => {
    helm(["uninstall", "prod", "--namespace", namespace]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("installs: every object the chart renders is valid for the server", async () => {
    const out = helm([
      "install",
      "prod",
      CHART,
      "--namespace",
      namespace,
      "--create-namespace",
      "-f",
      await valuesFile(values),
    ]);
    expect(out.status, out.stderr).toBe(0);
    const manifest = helm(["get", "manifest", "prod", "--namespace", namespace]);
    const kinds = [...manifest.stdout.matchAll(/^kind: (\w+)$/gm)].map((m) => m[1]).sort();
    expect(kinds).toEqual([
      "ConfigMap",
      "Deployment",
      "Deployment",
      "Deployment",
      "Deployment",
      "PodDisruptionBudget",
      "PodDisruptionBudget",
      "PodDisruptionBudget",
      "PodDisruptionBudget",
      "Service",
      "Service",
      "Service",
      "Service",
    ]);
  });

  it("upgrades with other replicas and values, keeping the history", async () => {
    const out = await upgrade({ ...values, etl: { replicas: 3 } });
    expect(out.status, out.stderr).toBe(0);
    const got = helm(["get", "values", "prod", "--namespace", namespace, "-o", "json"]);
    expect((JSON.parse(got.stdout) as { etl: { replicas: number } }).etl.replicas).toBe(3);
    expect(helm(["history", "prod", "--namespace", namespace]).stdout).toMatch(/^2\s.*deployed/m);
  });

  it("is refused by the server when a value breaks an object's schema", async () => {
    const out = await upgrade({ ...values, etl: { replicas: "three" } });
    expect(out.status).not.toBe(0);
    expect(out.stderr).toMatch(/server-side apply failed .*\.spec\.replicas: expected numeric/);
  });
});
