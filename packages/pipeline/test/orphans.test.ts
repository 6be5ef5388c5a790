import { decodeBundle } from "@varstream/bundle";
import type { KeySet } from "@varstream/shared";
import { describe, expect, it } from "vitest";
import { isProduced, orphanedScopes } from "../src/routing/orphans.ts";

const rules = (over: Record<string, unknown> = {}) =>
  decodeBundle({
    bundle: {
      platforms: [{ github: { endpoint: "https://github.example.com", insecure_skip_signature: true } }],
      datasources: [{ redis: {} }, { file: { path: "/tmp/out" } }],
      rules: [
        {
          platform: "github",
          datasource: "redis",
          repositories: ["acme/*"],
          file_patterns: ["conf/*.yaml"],
          destination_template: "{env}/{file_stem}",
          env_as_branch: true,
          ...over,
        },
      ],
    },
  });

const stored = (over: Partial<KeySet> & { destination?: string; file?: string } = {}): KeySet => {
  const { destination = "main/app", file = "conf/app.yaml", ...rest } = over;
  return {
    task_id: "t1",
    scope: { datasource: "redis", destination, repo: "acme/app", file },
    repo: "acme/app",
    platform: "github",
    ref: "refs/heads/main",
    commit: "c1",
    env: "main",
    keys: { a: 1, b: 2 },
    labels: {},
    prune: { enabled: true, protection: [] },
    sync_mode: "mirror",
    produced_at: "2026-12-02T00:00:00.000Z",
    ...rest,
  };
};

describe("orphaned scopes", () => {
  it("a scope its rule still renders is produced", () => {
    expect(isProduced(rules(), stored())).toBe(true);
  });

  it("a changed destination_template, file pattern, repository or branch list orphans the old scopes", () => {
    expect(isProduced(rules({ destination_template: "{repo}/{file_stem}" }), stored())).toBe(false);
    expect(isProduced(rules({ file_patterns: ["settings/*.yaml"] }), stored())).toBe(false);
    expect(isProduced(rules({ repositories: ["other/*"] }), stored())).toBe(false);
    expect(isProduced(rules({ branches: ["release/*"] }), stored())).toBe(false);
    expect(isProduced(rules({ datasource: "file" }), stored())).toBe(false);
  });

  it("pull request and tag scopes need a rule that still asks for them", () => {
    const pr = stored({ ref: "refs/pull/7/head", env: "pr-7", destination: "pr-7/app" });
    expect(isProduced(rules(), pr)).toBe(false);
    expect(isProduced(rules({ env_as_pr: true }), pr)).toBe(true);
    const tag = stored({ ref: "refs/tags/v1", env: "v1", destination: "v1/app" });
    expect(isProduced(rules({ env_as_tags: true }), tag)).toBe(true);
    expect(isProduced(rules(), tag)).toBe(false);
  });

  it("lists the orphans with their key counts, sorted", () => {
    const bundle = rules();
    const orphans = orphanedScopes(bundle, [
      stored(),
      stored({ destination: "gone/z" }),
      stored({ destination: "gone/a", file: "conf/a.yaml" }),
    ]);
    expect(orphans.map((o) => [o.destination, o.keys])).toEqual([
      ["gone/a", 2],
      ["gone/z", 2],
    ]);
  });
});
