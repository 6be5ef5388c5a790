import { expect, it } from "vitest";
import { runChaos } from "./run.ts";

/**
 * The CI-sized chaos run (scripts/test.sh runs it after the first lane, VARSTREAM_CHAOS=1): each short
 * fault kind once, against Redis and PostgreSQL behind the test proxy. (Not the file sink: two writer
 * processes on one folder have no transaction between them, so a writer stopped between its manifest
 * check and its rename can overwrite its successor — a documented limit, not a chaos finding.) The full
 * run is `bash scripts/bench.sh chaos --runs 200 [--long]`.
 */
it("converges after every fault: nothing lost, duplicated or going backwards, outside keys untouched", async () => {
  const figures = await runChaos({
    runs: 0, // one of each short kind
    sinks: ["redis", "postgres"],
    repos: 2,
    files: 3,
    keys: 8,
    long: false,
    seed: 7,
    convergeTimeoutMs: 90_000,
    log: (line) => console.log(line),
  });
  console.log(JSON.stringify({ chaos: figures }));
  expect(figures.runs).toBeGreaterThanOrEqual(10);
  expect(figures).toMatchObject({ lost: 0, duplicated: 0, regressions: 0, failed_tasks: 0, outside_touched: 0 });
}, 900_000);
