import { decodeBundle } from "@varstream/bundle";
import type { WebhookEvent } from "@varstream/shared";
import { describe, expect, it } from "vitest";
import { cloneUrlAllowed, cloneUrlAllowedForEvent, cloneUrlOfRepository } from "../src/routing/clone-url.ts";
import { fileStem, normalizeEnv, renderDestination, resolveEnv } from "../src/routing/environment.ts";
import { branchMatches, matchRules } from "../src/routing/rules.ts";
import { SelectError, selectRoot, sliceEnv } from "../src/transform/select.ts";

const bundle = decodeBundle({
  bundle: {
    platforms: [
      { github: { endpoint: "https://github.example.com", insecure_skip_signature: true } },
      { github: { tag: "local", endpoint: "file:///srv/git", insecure_skip_signature: true } },
    ],
    datasources: [{ file: { path: "/tmp/out" } }, { redis: { tag: "cache" } }],
    rules: [
      {
        platform: "github",
        datasource: "redis-cache",
        repositories: ["acme/*"],
        exclude_repositories: ["acme/secret"],
        file_name: "app.yaml",
      },
      { platform: "github", datasource: "redis-cache", repositories: ["**"], file_patterns: ["conf/**/*.json"] },
      { platform: "github", datasource: "file", file_path_map: { staging: "env/staging.yaml", prod: "env/prod.yaml" } },
    ],
  },
});

function event(over: Partial<WebhookEvent> = {}): WebhookEvent {
  return {
    task_id: "t",
    delivery_id: "d",
    source: "http",
    platform: "github",
    datasource: "redis-cache",
    event: "push",
    repo: { full_name: "acme/app", clone_url: "https://github.example.com/acme/app.git" },
    ref: "refs/heads/main",
    branch: "main",
    before: "0".repeat(40),
    after: "1".repeat(40),
    changes: [],
    received_at: new Date().toISOString(),
    dry_run: false,
    ...over,
  };
}

describe("rule matching", () => {
  it("applies every rule whose datasource, platform, repository and path match", () => {
    expect(matchRules(bundle, event(), "app.yaml").map((m) => m.ruleIndex)).toEqual([0]);
    expect(matchRules(bundle, event(), "conf/a/b.json").map((m) => m.ruleIndex)).toEqual([1]);
    expect(matchRules(bundle, event({ repo: { full_name: "acme/secret", clone_url: "x" } }), "app.yaml")).toEqual([]);
    expect(matchRules(bundle, event({ repo: { full_name: "other/app", clone_url: "x" } }), "app.yaml")).toEqual([]);
    expect(matchRules(bundle, event({ datasource: "file" }), "app.yaml")).toEqual([]);
  });

  it("names the env from file_path_map", () => {
    const [hit] = matchRules(bundle, event({ datasource: "file" }), "env/staging.yaml");
    expect(hit?.pathEnv).toBe("staging");
  });
});

describe("environment", () => {
  const rule = bundle.rules[0]!;
  it("follows the documented precedence", () => {
    const r = { ...rule, branch_map: { main: "Production" }, env_as_branch: true, env_as_pr: true, env_as_tags: true };
    expect(resolveEnv(r, event(), undefined)).toBe("production");
    expect(resolveEnv(r, event({ branch: "dev" }), "qa")).toBe("qa");
    expect(resolveEnv(r, event({ branch: "dev", pr: { number: 7, action: "opened", head_sha: "x" } }), undefined)).toBe(
      "pr-7",
    );
    expect(resolveEnv(r, event({ branch: undefined, tag: "v1.2" }), undefined)).toBe("v1.2");
    expect(resolveEnv(r, event({ branch: "Feature/X" }), undefined)).toBe("feature-x");
    expect(resolveEnv(rule, event({ branch: "dev" }), undefined)).toBe("default");
  });

  it("normalizes names and renders destinations", () => {
    expect(normalizeEnv("Prod EU#1")).toBe("prod-eu-1");
    expect(fileStem("a/b/app.config.yaml")).toBe("app.config");
    expect(
      renderDestination("{tenant}/{env}/{repo}/{file_stem}", { tenant: "t", env: "e", repo: "o/r", file_stem: "f" }),
    ).toBe("t/e/o/r/f");
  });
});

describe("selecting and slicing", () => {
  const rule = bundle.rules[0]!;
  it("selects root_key and fails clearly when it is missing", () => {
    expect(selectRoot({ app: { config: { a: 1 } } }, "app.config")).toEqual({ a: 1 });
    expect(() => selectRoot({ app: {} }, "app.config")).toThrow(SelectError);
  });

  it("slices env_layout top over default, and fails an env with neither", () => {
    const tree = { default: { a: 1, b: { c: 2 } }, prod: { b: { c: 3 } } };
    expect(sliceEnv(tree, { ...rule, env_layout: "top" }, "prod", new Set(["prod"]))).toEqual({ a: 1, b: { c: 3 } });
    expect(() => sliceEnv({ prod: {} }, { ...rule, env_layout: "top" }, "dev", new Set())).toThrow(
      /no block for env dev/,
    );
  });

  it("collapses env_layout leaf maps", () => {
    const tree = { port: { default: 80, prod: 443 }, host: "x", nested: { a: { prod: 1 } } };
    expect(sliceEnv(tree, { ...rule, env_layout: "leaf" }, "prod", new Set(["prod", "dev"]))).toEqual({
      port: 443,
      host: "x",
      nested: { a: 1 },
    });
    expect(() => sliceEnv(tree, { ...rule, env_layout: "leaf" }, "dev", new Set(["prod", "dev"]))).toThrow(
      /no value for env dev/,
    );
  });
});

describe("clone URL guard", () => {
  const [https, local] = [...bundle.platforms.values()];
  it("accepts URLs of the platform's scheme and host, or under its file:// folder", () => {
    expect(cloneUrlAllowed(https!, "https://github.example.com/acme/app.git")).toBe(true);
    expect(cloneUrlAllowed(https!, "https://evil.example.com/acme/app.git")).toBe(false);
    expect(cloneUrlAllowed(https!, "file:///etc")).toBe(false);
    expect(cloneUrlAllowed(local!, "file:///srv/git/acme/app")).toBe(true);
    expect(cloneUrlAllowed(local!, "file:///srv/git/../../etc")).toBe(false);
    expect(cloneUrlAllowed(local!, "file:///srv/gitx/acme")).toBe(false);
    expect(cloneUrlAllowed(local!, "not a url")).toBe(false);
  });
});

describe("a clone URL is its payload's repository under the verifying entry", () => {
  const [https, local] = [...bundle.platforms.values()];
  const org = decodeBundle({
    bundle: { platforms: [{ github: { endpoint: "https://github.com/acme", insecure_skip_signature: true } }] },
  }).platforms.get("github")!;
  it("ends in /<full_name> (.git optional), under the endpoint's path, nothing smuggled", () => {
    expect(cloneUrlOfRepository(https!, "https://github.example.com/acme/app.git", "acme/app")).toBe(true);
    expect(cloneUrlOfRepository(https!, "https://github.example.com/acme/app", "acme/app")).toBe(true);
    expect(cloneUrlOfRepository(https!, "https://github.example.com/victim/app.git", "acme/app")).toBe(false);
    expect(cloneUrlOfRepository(https!, "https://github.example.com/acme/app.git", "acme/other")).toBe(false);
    expect(cloneUrlOfRepository(https!, "https://github.example.com/x/acme/app/../app.git", "acme/app")).toBe(false);
    expect(cloneUrlOfRepository(https!, "https://u:p@github.example.com/acme/app.git", "acme/app")).toBe(false);
    expect(cloneUrlOfRepository(https!, "https://github.example.com/acme/app.git?x=1", "acme/app")).toBe(false);
    expect(cloneUrlOfRepository(https!, "https://github.example.com/acme/app.git", "../acme/app")).toBe(false);
    expect(cloneUrlOfRepository(local!, "file:///srv/git/acme/app", "acme/app")).toBe(true);
    expect(cloneUrlOfRepository(org, "https://github.com/acme/app.git", "acme/app")).toBe(true);
    expect(cloneUrlOfRepository(org, "https://github.com/other/app.git", "other/app")).toBe(false);
    // What git would read as another host (`\` ends git's user name), or any URL not written canonically.
    expect(
      cloneUrlOfRepository(https!, "https://github.example.com\\@evil.example/acme/app", "@evil.example/acme/app"),
    ).toBe(false);
    expect(cloneUrlOfRepository(https!, "https://github.example.com\\@evil.example/acme/app", "acme/app")).toBe(false);
    expect(cloneUrlOfRepository(https!, "https://GITHUB.example.com/acme/app.git", "acme/app")).toBe(false);
    expect(cloneUrlOfRepository(https!, "https://github.example.com/acme/app .git", "acme/app")).toBe(false);
    expect(cloneUrlOfRepository(https!, "https://github.example.com/acme/app%2F..%2Fx", "acme/app")).toBe(false);
  });

  it("an event recorded with its entry is checked against that entry only", () => {
    const local = event({
      platform_name: "github-local",
      repo: { full_name: "acme/app", clone_url: "https://github.example.com/acme/app.git" },
    });
    expect(cloneUrlAllowedForEvent(bundle, local)).toBe(false);
    expect(cloneUrlAllowedForEvent(bundle, { ...local, platform_name: "github" })).toBe(true);
    expect(cloneUrlAllowedForEvent(bundle, { ...local, platform_name: "no-such-entry" })).toBe(false);
  });
});

describe("branch filters and pull requests", () => {
  const base = bundle.rules[0]!;
  it("takes the push's branch by branches minus exclude_branches", () => {
    const rule = { ...base, branches: ["main", "release/*"], exclude_branches: ["release/old"] };
    expect(branchMatches(rule, event({ branch: "main" }))).toBe(true);
    expect(branchMatches(rule, event({ branch: "release/2" }))).toBe(true);
    expect(branchMatches(rule, event({ branch: "release/old" }))).toBe(false);
    expect(branchMatches(rule, event({ branch: "feature/x" }))).toBe(false);
    expect(branchMatches(base, event({ branch: "anything/at/all" }))).toBe(true);
  });

  it("syncs a pull request only for a rule with env_as_pr, by its base branch", () => {
    const pr = event({ event: "pull_request", pr: { number: 7, action: "opened", head_sha: "a", base_ref: "main" } });
    expect(branchMatches(base, pr)).toBe(false);
    expect(branchMatches({ ...base, env_as_pr: true }, pr)).toBe(true);
    expect(branchMatches({ ...base, env_as_pr: true, branches: ["develop"] }, pr)).toBe(false);
  });

  it("syncs a tag only for a rule with env_as_tags, whatever its branches", () => {
    const tag = event({ event: "tag", branch: undefined, tag: "v1", ref: "refs/tags/v1" });
    expect(branchMatches(base, tag)).toBe(false);
    expect(branchMatches({ ...base, branches: ["main"] }, tag)).toBe(false);
    expect(branchMatches({ ...base, env_as_tags: true }, tag)).toBe(true);
  });

  it("puts a pull request into its own env, never one its branch or files map to", () => {
    const rule = {
      ...base,
      env_as_pr: true,
      branch_map: { "feature/x": "production" },
      file_path_map: { production: "app.yaml" },
    };
    const pr = event({ branch: "feature/x", pr: { number: 9, action: "opened", head_sha: "a", base_ref: "main" } });
    expect(resolveEnv(rule, pr, "production")).toBe("pr-9");
  });

  it("matches rules by the verified entry's name when the event has one", () => {
    expect(matchRules(bundle, event({ platform_name: "github" }), "app.yaml").map((m) => m.ruleIndex)).toEqual([0]);
    expect(matchRules(bundle, event({ platform_name: "github-local" }), "app.yaml")).toEqual([]);
  });
});
