import { execFile } from "node:child_process";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..");
const run = promisify(execFile);

/** Runs the project's dependency-cruiser rules over a made-up tree; resolves with its exit code and output. */
async function cruise(files: Record<string, string>): Promise<{ code: number; out: string }> {
  const dir = await mkdtemp(join(tmpdir(), "varstream-layering-"));
  await writeFile(
    join(dir, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { allowImportingTsExtensions: true } }),
  );
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  const bin = join(ROOT, "node_modules/.bin/depcruise");
  const args = ["--config", join(ROOT, ".dependency-cruiser.cjs"), "packages", "services"];
  try {
    const { stdout } = await run(bin, args, { cwd: dir });
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, out: e.stdout };
  }
}

describe("the layering check (.dependency-cruiser.cjs)", () => {
  it("fails on an upward import, a service importing a service, and a package outside its row", async () => {
    const { code, out } = await cruise({
      "packages/shared/src/index.ts": 'import "../../../services/ingest/src/index.ts";\nexport {};\n',
      "packages/sinks/src/index.ts": 'import "../../pipeline/src/index.ts";\nexport {};\n',
      "packages/pipeline/src/index.ts": "export {};\n",
      "services/ingest/src/index.ts": 'import "../../etl/src/index.ts";\nexport {};\n',
      "services/etl/src/index.ts": "export {};\n",
    });
    expect(code).not.toBe(0);
    expect(out).toMatch(
      /no-package-imports-a-service: packages\/shared\/src\/index\.ts → services\/ingest\/src\/index\.ts/,
    );
    expect(out).toMatch(/layering-sinks: packages\/sinks\/src\/index\.ts → packages\/pipeline\/src\/index\.ts/);
    expect(out).toMatch(
      /no-service-imports-another-service: services\/ingest\/src\/index\.ts → services\/etl\/src\/index\.ts/,
    );
  });

  it("passes imports that follow the layers", async () => {
    const { code, out } = await cruise({
      "packages/platforms/src/index.ts": "export {};\n",
      "packages/shared/src/index.ts": 'import "../../platforms/src/index.ts";\nexport {};\n',
      "services/etl/src/index.ts": 'import "../../../packages/shared/src/index.ts";\nexport {};\n',
    });
    expect(out).toMatch(/no dependency violations found/);
    expect(code).toBe(0);
  });
});
