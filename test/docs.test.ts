import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generated, ROOT } from "../scripts/docs/generate.ts";

/**
 * The generated parts of the docs (each sink's configuration table, docs/bundle.md, the error tables
 * of the README and the operations guide) are what the schemas and catalogues say: change the code,
 * then run `pnpm run docs`.
 */
describe("generated docs are up to date", async () => {
  for (const { path, content } of await generated()) {
    it(`${path} is what \`pnpm run docs\` makes of the code`, async () => {
      expect(await readFile(join(ROOT, path), "utf8"), `${path} is stale: run pnpm run docs`).toBe(content);
    });
  }

  it("every code of both catalogues is in the README", async () => {
    const { HTTP_ERRORS, PIPELINE_ERRORS } = await import("@varstream/shared");
    const readme = await readFile(join(ROOT, "README.md"), "utf8");
    for (const code of [...Object.keys(HTTP_ERRORS), ...Object.keys(PIPELINE_ERRORS)]) {
      expect(readme, code).toContain(`| \`${code}\` |`);
    }
  });
});
