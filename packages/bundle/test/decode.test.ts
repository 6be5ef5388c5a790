import { describe, expect, it } from "vitest";
import { decodeBundle } from "../src/index.ts";
import { expectRefused } from "./refusal.ts";

describe("bundle", () => {
  const base = {
    platforms: [{ github: { endpoint: "https://github.com", secret: { env: "GH_SECRET" } } }],
    datasources: [{ redis: { tag: "cache", host: "127.0.0.1" } }, { file: { path: "/tmp/x" } }],
    rules: [{ platform: "github", datasource: "redis-cache", file_name: "app.yaml" }],
  };

  it("names entries <kind> or <kind>-<tag> and fills defaults", () => {
    const bundle = decodeBundle({ bundle: base });
    expect([...bundle.datasources.keys()]).toEqual(["redis-cache", "file"]);
    expect(bundle.rules[0]).toMatchObject({
      repositories: ["**"],
      destination_template: "{env}/{file_stem}",
      prune: false,
    });
  });

  it.each([
    [{ ...base, extra: 1 }, "bundle.extra", /not a known field/],
    [
      { ...base, rules: [{ ...base.rules[0], datasource: "redis" }] },
      "bundle.rules[0].datasource",
      /no datasource named redis/,
    ],
    [{ ...base, rules: [{ ...base.rules[0], platform: "gitlab" }] }, "bundle.rules[0].platform", /no platform/],
    [
      { ...base, rules: [{ ...base.rules[0], destination_template: "{nope}/x" }] },
      "bundle.rules[0].destination_template",
      /unknown placeholder \{nope\}/,
    ],
    [
      { ...base, datasources: [...base.datasources, { redis: { tag: "cache" } }] },
      "bundle.datasources[2]",
      /duplicate datasource name redis-cache/,
    ],
    [{ ...base, datasources: [{ cassandra: {} }] }, "bundle.datasources[0]", /one kind of file, redis/],
    [
      { ...base, rules: [{ ...base.rules[0], sync_mode: "SYNC_MODE_NOPE" }] },
      "bundle.rules[0].sync_mode",
      /unknown sync_mode/,
    ],
  ])("refuses a bad bundle with the path (%#)", (doc, path, reason) => expectRefused(doc, path, reason));

  it("maps varTrack's sync mode names", () => {
    const bundle = decodeBundle({
      bundle: { ...base, rules: [{ ...base.rules[0], sync_mode: "SYNC_MODE_LIVE_STATE" }] },
    });
    expect(bundle.rules[0]?.sync_mode).toBe("repair");
  });
});
