import { mkdtemp, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BundleError, loadBundle } from "../src/index.ts";

const examples = join(import.meta.dirname, "../../../examples/bundles");

async function bundleFile(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "bundle-"));
  const path = join(dir, "config.cue");
  await writeFile(path, text);
  return path;
}

const BASE = `
bundle: {
  platforms: [{github: {endpoint: "https://github.com", insecure_skip_signature: true}}]
  datasources: [{redis: {tag: "cache"}}, {file: {path: "/tmp/x"}}]
  rules: [RULE]
}
`;
const RULE = '{platform: "github", datasource: "redis-cache", file_name: "app.yaml"}';

describe("CUE bundles", () => {
  it("every example bundle loads", async () => {
    const files = (await readdir(examples)).filter((f) => f.endsWith(".cue"));
    expect(files.length).toBeGreaterThanOrEqual(3);
    const kinds = new Set<string>();
    for (const file of files) {
      const bundle = await loadBundle(join(examples, file));
      for (const p of bundle.platforms.values()) kinds.add(p.kind);
      for (const d of bundle.datasources.values()) kinds.add(d.kind);
    }
    expect([...kinds].sort()).toEqual([
      "etcd",
      "file",
      "gitea",
      "github",
      "gitlab",
      "postgres",
      "redis",
      "ssh",
      "zookeeper",
    ]);
  });

  it("loads the bundle dialect with tag-derived names and varTrack sync modes", async () => {
    const bundle = await loadBundle(join(examples, "gitlab-multi.cue"));
    expect([...bundle.datasources.keys()]).toEqual(["file-yaml", "redis"]);
    expect(bundle.rules.map((r) => r.sync_mode)).toEqual(["mirror", "upsert"]);
    const gitea = await loadBundle(join(examples, "gitea-redis.cue"));
    expect(gitea.schemaRegistry).toEqual({
      platform: "gitea",
      repo: "platform/schemas",
      branch: "main",
      url: "https://gitea.example.com/platform/schemas.git",
    });
  });

  it.each([
    ["an unknown field", RULE.replace("}", ", colour: 1}"), "bundle.rules[0].colour", /not a known field/],
    [
      "a missing datasource",
      RULE.replace("redis-cache", "redis"),
      "bundle.rules[0].datasource",
      /no datasource named redis/,
    ],
    [
      "a missing platform",
      RULE.replace('"github"', '"gitlab"'),
      "bundle.rules[0].platform",
      /no platform named gitlab/,
    ],
    [
      "a bad template",
      RULE.replace("}", ', destination_template: "{team}/{env}"}'),
      "bundle.rules[0].destination_template",
      /\{team\}/,
    ],
  ])("refuses %s with the CUE path", async (_what, rule, path, reason) => {
    const err = await loadBundle(await bundleFile(BASE.replace("RULE", rule))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BundleError);
    expect((err as BundleError).path).toBe(path);
    expect((err as BundleError).reason).toMatch(reason);
  });

  it("refuses a duplicate datasource name and CUE that does not evaluate", async () => {
    const dup = BASE.replace("RULE", RULE).replace('{file: {path: "/tmp/x"}}', '{redis: {tag: "cache", port: 1}}');
    await expect(loadBundle(await bundleFile(dup))).rejects.toThrow(
      /bundle.datasources\[1\]: duplicate datasource name redis-cache/,
    );
    const conflict = `bundle: { platforms: [{github: {endpoint: "x" & "y", insecure_skip_signature: true}}] }`;
    const err = (await loadBundle(await bundleFile(conflict)).catch((e: unknown) => e)) as BundleError;
    expect(err.path).toBe("bundle.platforms.0.github.endpoint");
    expect(err.reason).toMatch(/conflicting values/);
  });
});
