import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadBundle } from "@varstream/bundle";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

interface Service {
  image: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  restart?: string;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}

// No Docker engine runs here, so `docker compose config` cannot; this checks what it would rely on. The image
// itself is built and run by test/image/image.test.ts.
describe("docker-compose.yml", () => {
  const root = join(import.meta.dirname, "..");
  const compose = parse(readFileSync(join(root, "docker-compose.yml"), "utf8"), { merge: true }) as {
    services: Record<string, Service>;
  };
  const services = ["ingest", "etl", "sink-writer"];

  it("runs Kafka from the official image and the three services from the one varstream image", () => {
    expect(Object.keys(compose.services).sort()).toEqual(["etl", "ingest", "kafka", "sink-writer"]);
    expect(compose.services.kafka?.image).toMatch(/^apache\/kafka:4\./);
    const version = (JSON.parse(readFileSync(join(root, "packages/cli/package.json"), "utf8")) as { version: string })
      .version;
    for (const name of services) {
      const service = compose.services[name]!;
      expect(service.image).toBe(`varstream:${version}`);
      expect(service.build).toEqual({ context: ".", dockerfile: "Containerfile" });
      expect(existsSync(join(root, service.command![0]!)), name).toBe(true);
      expect(service.environment?.KAFKA_BROKERS).toBe("kafka:9092");
    }
  });

  it("restarts every service, starts the services on a healthy Kafka and checks each one's readiness", () => {
    const readyPort: Record<string, number> = { ingest: 8000, etl: 9101, "sink-writer": 9102 };
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.restart, name).toBe("unless-stopped");
      expect(service.healthcheck?.test.length, name).toBeGreaterThan(1);
    }
    for (const name of services) {
      const service = compose.services[name]!;
      expect(service.depends_on).toEqual({ kafka: { condition: "service_healthy" } });
      // the image has no curl: Node's fetch asks the service's own ready endpoint
      expect(service.healthcheck?.test.join(" ")).toContain(`127.0.0.1:${readyPort[name]}/`);
      expect(service.healthcheck?.test.join(" ")).toMatch(/health\/ready/);
    }
    expect(compose.services.ingest?.environment?.HTTP_ADDR).toBe(`0.0.0.0:${readyPort.ingest}`);
    // the image defaults to production, which refuses this stack's plaintext broker and open API
    for (const name of services) expect(compose.services[name]!.environment?.APP_ENV).toBe("development");
    // the broker's data in its volume, not in the container
    expect(compose.services.kafka?.environment?.KAFKA_LOG_DIRS).toBe("/var/lib/kafka/data");
    expect(compose.services.kafka?.volumes).toContain("kafka:/var/lib/kafka/data");
  });

  it("mounts a bundle that ships in examples/ and loads", async () => {
    const mount = compose.services.ingest!.volumes!.find((v) => v.endsWith(":/config:ro"))!;
    const path = compose.services.ingest!.environment!.CONFIG_PATH!;
    const local = join(root, mount.split(":")[0]!, path.slice("/config/".length));
    const bundle = await loadBundle(local);
    expect([...bundle.datasources.keys()]).toEqual(["file"]);
    expect(bundle.rules).toHaveLength(1);
    expect(compose.services["sink-writer"]!.volumes).toContain("data:/var/lib/varstream");
  });
});
