import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

// No Docker engine runs here, so `docker compose config` cannot; this checks what it would rely on.
describe("docker-compose.yml", () => {
  const root = join(import.meta.dirname, "..");
  const compose = parse(readFileSync(join(root, "docker-compose.yml"), "utf8")) as {
    services: Record<string, { image: string; command?: string[]; environment?: Record<string, string> }>;
  };

  it("runs Kafka from the official image and the three services on Node 24", () => {
    expect(Object.keys(compose.services).sort()).toEqual(["etl", "ingest", "kafka", "sink-writer"]);
    expect(compose.services.kafka?.image).toMatch(/^apache\/kafka:3\.9/);
    for (const name of ["ingest", "etl", "sink-writer"]) {
      const service = compose.services[name]!;
      expect(service.image).toMatch(/^node:24/);
      expect(existsSync(join(root, service.command![1]!))).toBe(true);
      expect(service.environment?.KAFKA_BROKERS).toBe("kafka:9092");
    }
  });
});
