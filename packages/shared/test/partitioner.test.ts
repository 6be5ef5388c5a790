import { describe, expect, it } from "vitest";
import { scopeKey } from "../src/contracts/keyset.ts";
import { varstreamPartitioner } from "../src/kafka/partitioner.ts";

const partitionMetadata = Array.from({ length: 12 }, (_, partitionId) => ({
  partitionId,
  leader: 0,
  partitionErrorCode: 0,
  replicas: [0],
  isr: [0],
}));
const partition = varstreamPartitioner({ status: "s", keysets: "k" })();
const on = (topic: string, key: string) => partition({ topic, partitionMetadata, message: { key, value: null } });

describe("varstreamPartitioner", () => {
  it("puts every scope of one destination on one keysets partition, and spreads destinations", () => {
    const scope = (destination: string, file: string) =>
      scopeKey({ datasource: "file", destination, repo: "acme/c", file });
    const files = Array.from({ length: 20 }, (_, i) => `f${i}.yaml`);
    expect(new Set(files.map((f) => on("k", scope("prod/app", f)))).size).toBe(1);
    const destinations = Array.from({ length: 50 }, (_, i) => scope(`d${i}`, "a.yaml"));
    expect(new Set(destinations.map((d) => on("k", d))).size).toBeGreaterThan(6);
  });

  it("puts every report of one task on one status partition; other topics hash the whole key", () => {
    const reports = ["t1/ingest", "t1/etl", "t1/sink:file@file|d|r:a.yaml", "t1/sink:redis@redis|d|r:b.yaml"];
    expect(new Set(reports.map((k) => on("s", k))).size).toBe(1);
    const keys = Array.from({ length: 50 }, (_, i) => `file|d|acme/c:f${i}.yaml`);
    expect(new Set(keys.map((k) => on("webhooks", k))).size).toBeGreaterThan(6);
  });
});
