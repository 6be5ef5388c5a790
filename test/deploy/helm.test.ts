import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadBundle } from "@varstream/bundle";
import { describe, expect, it } from "vitest";
import { parseAllDocuments, stringify } from "yaml";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const CHART = join(ROOT, "deploy/helm/varstream");
/** helm, built from the Go module proxy by infra/helm/helm.sh (scripts/test.sh runs it first) */
const HELM = execFileSync("bash", [join(ROOT, "infra/helm/helm.sh"), "build"], { encoding: "utf8" }).trim();

interface K8sObject {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}
interface Container {
  args: string[];
  env: { name: string; value?: string }[];
  ports: { name: string; containerPort: number }[];
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
}

const helm = (args: string[]) => spawnSync(HELM, args, { encoding: "utf8" });

describe("the Helm chart (deploy/helm/varstream)", () => {
  const bundle = readFileSync(join(ROOT, "examples/bundles/github-file.cue"), "utf8");
  const values = {
    bundle: { content: bundle },
    secretRefs: ["varstream-credentials"],
    kafka: { tlsSecret: "kafka-ca", tlsClientCert: true, security: { KAFKA_SECURITY_PROTOCOL: "SSL" } },
    ingest: { grpcTlsSecret: "ingest-grpc" },
    sinkWriters: [
      { name: "redis", sinks: "redis-cache", replicas: 2, resources: {} },
      { name: "rest", sinks: "", replicas: 1, resources: {} },
    ],
    serviceMonitor: { enabled: true, ingestTokenSecret: "metrics-token" },
  };

  const render = async () => {
    const file = join(await mkdtemp(join(tmpdir(), "varstream-helm-")), "values.yaml");
    await writeFile(file, stringify(values));
    const out = helm(["template", "prod", CHART, "-f", file]);
    expect(out.status, out.stderr).toBe(0);
    return {
      file,
      objects: parseAllDocuments(out.stdout)
        .map((d) => d.toJS() as K8sObject)
        .filter(Boolean),
    };
  };
  const containerOf = (o: K8sObject) =>
    (o.spec as { template: { spec: { containers: Container[] } } }).template.spec.containers[0]!;

  it("lints, and renders a Deployment with probes, a Service and a PDB per service, a ServiceMonitor and the bundle", async () => {
    const { file, objects } = await render();
    const lint = helm(["lint", CHART, "-f", file]);
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);

    const names = (kind: string) =>
      objects
        .filter((o) => o.kind === kind)
        .map((o) => o.metadata.name)
        .sort();
    const deployments = [
      "prod-varstream-etl",
      "prod-varstream-ingest",
      "prod-varstream-sink-writer-redis",
      "prod-varstream-sink-writer-rest",
    ];
    expect(names("Deployment")).toEqual(deployments);
    expect(names("Service")).toEqual(deployments);
    expect(names("PodDisruptionBudget")).toEqual(deployments);
    expect(names("ServiceMonitor")).toEqual(["prod-varstream"]);

    for (const d of objects.filter((o) => o.kind === "Deployment")) {
      const c = containerOf(d);
      // the command a service runs exists, and its probes are the paths and port it serves
      expect(existsSync(join(ROOT, c.args[0]!)), c.args[0]).toBe(true);
      expect(c.livenessProbe.httpGet.path).toBe("/health/live");
      expect(c.readinessProbe.httpGet.path).toBe("/health/ready");
      const port = c.ports.find((p) => p.name === c.readinessProbe.httpGet.port)!;
      const env = Object.fromEntries(c.env.map((e) => [e.name, e.value]));
      const listen = d.metadata.name.endsWith("ingest") ? env.HTTP_ADDR : env.OPS_ADDR;
      expect(listen).toBe(`0.0.0.0:${port.containerPort}`);
      expect(env).toMatchObject({
        KAFKA_TLS_CA_FILE: "/etc/varstream/kafka-tls/ca.crt",
        KAFKA_SECURITY_PROTOCOL: "SSL",
      });
    }
    const redis = objects.find(
      (o) => o.kind === "Deployment" && o.metadata.name === "prod-varstream-sink-writer-redis",
    )!;
    expect(containerOf(redis).env).toContainEqual({ name: "SINKS", value: "redis-cache" });
    const ingest = objects.find((o) => o.kind === "Deployment" && o.metadata.name === "prod-varstream-ingest")!;
    expect(containerOf(ingest).env).toContainEqual({ name: "TLS_CA_FILE", value: "/etc/varstream/grpc-tls/ca.crt" });

    // the ConfigMap holds the bundle as given, and it loads
    const config = objects.find((o) => o.kind === "ConfigMap")!;
    const path = join(await mkdtemp(join(tmpdir(), "varstream-helm-bundle-")), "bundle.cue");
    await writeFile(path, config.data!["bundle.cue"]!);
    expect((await loadBundle(path)).datasources.size).toBeGreaterThan(0);
  }, 60_000);

  it("refuses to render without a bundle", () => {
    const out = helm(["template", "prod", CHART]);
    expect(out.status).not.toBe(0);
    expect(out.stderr).toMatch(/bundle.content \(or bundle.existingConfigMap\) is required/);
  });
});
