import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const BIN = join(import.meta.dirname, "../bin/varstream.js");
const run = promisify(execFile);

/** The installed command, as a shell runs it: its output is only what the command says. */
describe("the varstream command", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "varstream-bin-"));
    await writeFile(join(dir, "schema.cue"), "#Config: {name: string, port: int}\n");
    await writeFile(join(dir, "good.yaml"), "name: web\nport: 80\n");
    await writeFile(join(dir, "bad.yaml"), "name: web\nport: eighty\n");
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("validates with the CUE evaluator without Node's WASI warning on stderr", async () => {
    const { stdout, stderr } = await run(process.execPath, [
      BIN,
      "validate",
      join(dir, "good.yaml"),
      "--schema",
      join(dir, "schema.cue"),
    ]);
    expect(stdout).toContain("ok:");
    expect(stderr).toBe("");
  });

  it("exits 1 when validation fails, saying where", async () => {
    const failed = await run(process.execPath, [
      BIN,
      "validate",
      join(dir, "bad.yaml"),
      "--schema",
      join(dir, "schema.cue"),
    ]).then(
      () => undefined,
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stdout).toMatch(/port/);
    expect(failed?.stderr).toBe("");
  });

  it("prints its version", async () => {
    const { stdout, stderr } = await run(process.execPath, [BIN, "--version"]);
    const { version } = JSON.parse(await readFile(join(import.meta.dirname, "../package.json"), "utf8")) as {
      version: string;
    };
    expect(stdout.trim()).toBe(version);
    expect(stderr).toBe("");
  });
});
