import { readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { flatten, type Scope, type Tree } from "@varstream/shared";
import { makeKeySet } from "@varstream/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { applyDesired } from "../src/apply.ts";
import type { Sink } from "../src/contract.ts";
import { SINKS } from "../src/registry.ts";
import { FIXTURES, logger, openSink } from "./fixtures.ts";

/**
 * Each sink's README (`src/<kind>/README.md`) starts with a configuration block and has an
 * `## Example`: a config file (a yaml block) and what a user of the store sees after varstream wrote it
 * (the next block). This parses the first with the sink's schema, applies the example to the real store
 * and checks its output, so the page cannot drift from what the sink does. After an intended change of a
 * layout, `DOCS_WRITE=1` rewrites the output blocks from what the stores show.
 */

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../src");
const DESTINATION = "production/app";

interface Example {
  input: Tree;
  /** compares what the store shows with the page's output block */
  check: (shown: string) => Promise<void>;
}

const pageOf = (kind: string) => join(SRC, kind, "README.md");

async function example(kind: string): Promise<Example> {
  const path = pageOf(kind);
  const page = await readFile(path, "utf8");
  const start = page.search(/^## Example/m);
  if (start < 0) throw new Error(`src/${kind}/README.md has no "## Example" section`);
  const blocks = [...page.slice(start).matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)];
  if (blocks.length < 2) throw new Error(`src/${kind}/README.md: the example needs an input and an output block`);
  const output = blocks[1]!;
  return {
    input: parseYaml(blocks[0]![1]!) as Tree,
    check: async (shown) => {
      if (process.env.DOCS_WRITE) {
        const at = start + output.index! + output[0].indexOf("\n") + 1;
        await writeFile(path, page.slice(0, at) + shown + page.slice(at + output[1]!.length));
      } else expect(shown).toBe(output[1]);
    },
  };
}

async function write(sink: Sink, datasource: string, input: Tree): Promise<void> {
  const scope: Scope = { datasource, destination: DESTINATION, repo: "acme/config", file: "config/app.yaml" };
  const keySet = makeKeySet(scope, flatten(input), { task_id: "docs", commit: "9f3c2e1", env: "production" });
  const report = await applyDesired(
    sink,
    { scope, taskId: "docs", commit: "9f3c2e1", keySet },
    {
      maxRetries: 0,
      retryBaseMs: 10,
      logger,
    },
  );
  expect(report.outcome, report.error).toBe("applied");
}

describe("each sink's README holds against its real store", () => {
  const closers: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
  });

  for (const [kind] of FIXTURES) {
    it(`${kind}: the configuration block parses with the sink's schema`, async () => {
      const page = await readFile(pageOf(kind), "utf8");
      const block = /^```yaml\n([\s\S]*?)^```/m.exec(page);
      expect(block, `src/${kind}/README.md starts with a yaml configuration block`).not.toBeNull();
      const doc = parseYaml(block![1]!) as { datasources: Record<string, unknown>[] };
      const entry = doc.datasources[0]?.[kind];
      expect(entry, `the block's first datasource is a ${kind} entry`).toBeDefined();
      const parsed = SINKS[kind].config.safeParse(entry);
      expect(parsed.success, parsed.error?.message).toBe(true);
    });

    it(`${kind}: the example, as the store shows it`, async () => {
      const { input, check } = await example(kind);
      const { sink, store } = await openSink(kind, kind, { isolated: true });
      closers.push(
        () => store.close(),
        () => sink.close(),
      );
      await write(sink, kind, input);
      await check(await store.view.show(DESTINATION));
    });
  }
});
