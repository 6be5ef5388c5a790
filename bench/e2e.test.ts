import { describe, expect, it } from "vitest";
import { runE2eBench } from "./e2e.ts";

describe("bench/e2e smoke", () => {
  it("runs a tiny load through the whole pipeline and reports figures", async () => {
    const result = await runE2eBench(16, 50, 4);
    expect(result.throughput.changes).toBe(16);
    expect(result.paced.changes).toBe(16);
    expect(result.throughput.changes_per_s).toBeGreaterThan(0);
    expect(result.paced.latency_ms.p99).toBeGreaterThanOrEqual(result.paced.latency_ms.p50);
  }, 120_000);
});
