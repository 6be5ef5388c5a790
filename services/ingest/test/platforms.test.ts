import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { netChanges } from "../src/platforms/changes.ts";
import { detectPlatform } from "../src/platforms/detect.ts";
import { normalizeGithub } from "../src/platforms/github.ts";
import { verifySignature } from "../src/platforms/signature.ts";

const body = Buffer.from('{"a":1}');
const hex = createHmac("sha256", "s3").update(body).digest("hex");

describe("signatures", () => {
  it("checks GitHub sha256= HMAC, Gitea hex HMAC and the GitLab token", () => {
    expect(verifySignature("github", "s3", body, { "x-hub-signature-256": `sha256=${hex}` })).toBe(true);
    expect(verifySignature("github", "s3", body, { "x-hub-signature-256": `sha256=${hex.toUpperCase()}` })).toBe(true);
    expect(verifySignature("github", "other", body, { "x-hub-signature-256": `sha256=${hex}` })).toBe(false);
    expect(verifySignature("github", "s3", body, { "x-hub-signature-256": hex })).toBe(false);
    expect(verifySignature("github", "s3", body, {})).toBe(false);
    expect(verifySignature("gitea", "s3", body, { "x-gitea-signature": hex })).toBe(true);
    expect(verifySignature("gitlab", "s3", body, { "x-gitlab-token": "s3" })).toBe(true);
    expect(verifySignature("gitlab", "s3", body, { "x-gitlab-token": "s4" })).toBe(false);
  });

  it("refuses a signature of the wrong length without throwing", () => {
    expect(verifySignature("github", "s3", body, { "x-hub-signature-256": "sha256=abcd" })).toBe(false);
    expect(verifySignature("gitea", "s3", body, { "x-gitea-signature": `${hex}00` })).toBe(false);
  });
});

describe("platform detection", () => {
  it("checks Gitea before GitHub, since Gitea sends GitHub's headers too", () => {
    expect(detectPlatform({ "x-gitea-event": "push", "x-github-event": "push", "x-gitea-delivery": "d" })).toEqual({
      platform: "gitea",
      eventName: "push",
      deliveryId: "d",
    });
    expect(detectPlatform({ "x-gitlab-event": "Push Hook" })?.platform).toBe("gitlab");
    expect(detectPlatform({ "x-github-event": "push" })?.platform).toBe("github");
    expect(detectPlatform({})).toBeUndefined();
  });
});

describe("GitHub push normalization", () => {
  const sha = (c: string) => c.repeat(40);
  const payload = {
    ref: "refs/heads/main",
    before: sha("a"),
    after: sha("b"),
    repository: { full_name: "acme/config", clone_url: "https://github.com/acme/config.git" },
    commits: [{ added: ["x.yaml"], modified: ["y.yaml"], removed: [] }],
  };

  it("maps a push to the normalized event", () => {
    const n = normalizeGithub("push", payload, "github");
    expect(n).toEqual({
      kind: "event",
      payload: {
        platform: "github",
        event: "push",
        repo: payload.repository,
        ref: "refs/heads/main",
        branch: "main",
        before: sha("a"),
        after: sha("b"),
        changes: [
          { path: "x.yaml", status: "added" },
          { path: "y.yaml", status: "modified" },
        ],
      },
    });
  });

  it("ignores pings, deleted branches and pushes that change no file", () => {
    expect(normalizeGithub("ping", {}, "github")).toMatchObject({ kind: "ignored" });
    expect(normalizeGithub("push", { ...payload, after: "0".repeat(40) }, "github")).toMatchObject({
      kind: "ignored",
      reason: "refs/heads/main was deleted",
    });
    expect(normalizeGithub("push", { ...payload, commits: [] }, "github")).toMatchObject({ kind: "ignored" });
  });

  it("rejects a payload missing what a push needs", () => {
    expect(() => normalizeGithub("push", { ...payload, after: "nope" }, "github")).toThrow(/after/);
    expect(() => normalizeGithub("push", { ref: "x" }, "github")).toThrow(/INVALID|payload/);
  });

  it("nets the changes of several commits", () => {
    expect(
      netChanges([{ added: ["a", "b"], modified: ["c"] }, { removed: ["a", "c"], modified: ["b"] }, { added: ["c"] }]),
    ).toEqual([
      { path: "b", status: "added" },
      { path: "c", status: "modified" },
    ]);
  });
});
