import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../../..");
const run = promisify(execFile);

/** The tarball `node scripts/pack-cli.ts` makes, installed with npm into a folder outside the checkout. */
describe("the packed varstream command", () => {
  let dir: string;
  let bin: string;
  beforeAll(async () => {
    const { stdout } = await run(process.execPath, [join(ROOT, "scripts/pack-cli.ts")], { cwd: ROOT });
    const tarball = stdout.trim().split("\n").at(-1)!;
    dir = await mkdtemp(join(tmpdir(), "varstream-pack-"));
    await run(
      "npm",
      ["install", "--no-audit", "--no-fund", "--loglevel=error", "--cache", join(ROOT, ".cache/npm"), tarball],
      { cwd: dir },
    );
    bin = join(dir, "node_modules/.bin/varstream");
    await writeFile(join(dir, "schema.cue"), "#Config: {name: string, port: int}\n");
    await writeFile(join(dir, "good.yaml"), "name: web\nport: 80\n");
    await writeFile(join(dir, "bad.yaml"), "name: web\nport: eighty\n");
  }, 300_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("installs with every dependency pinned and no workspace reference left", async () => {
    const manifest = JSON.parse(await readFile(join(dir, "node_modules/varstream/package.json"), "utf8")) as {
      dependencies: Record<string, string>;
      engines: { node: string };
    };
    expect(manifest.engines.node).toBe(">=24");
    for (const [name, version] of Object.entries(manifest.dependencies)) {
      expect(name.startsWith("@varstream/"), name).toBe(false);
      expect(version, name).toMatch(/^\d+\.\d+\.\d+/);
    }
    const cli = JSON.parse(await readFile(join(ROOT, "packages/cli/package.json"), "utf8")) as { version: string };
    const { stdout, stderr } = await run(bin, ["--version"], { cwd: dir });
    expect(stdout.trim()).toBe(cli.version);
    expect(stderr).toBe("");
  });

  it("validates with its own CUE evaluator, quietly, and exits 1 on a failure", async () => {
    const good = await run(bin, ["validate", "good.yaml", "--schema", "schema.cue"], { cwd: dir });
    expect(good.stdout).toContain("ok:");
    expect(good.stderr).toBe("");
    const bad = await run(bin, ["validate", "bad.yaml", "--schema", "schema.cue"], { cwd: dir }).then(
      () => ({ code: 0, stdout: "" }),
      (err: { code: number; stdout: string }) => err,
    );
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/port/);
  });
});
