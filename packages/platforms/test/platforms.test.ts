import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { detectPlatform, netChanges, PLATFORMS, type Platform } from "../src/index.ts";

const verifySignature = (kind: Platform, secret: string, body: Buffer, headers: Record<string, string>) =>
  PLATFORMS[kind].verify(secret, body, headers);

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

describe("signing", () => {
  it("what an adapter signs, the same adapter verifies and detects; another secret does not verify", () => {
    for (const adapter of Object.values(PLATFORMS)) {
      const headers = adapter.sign(body, { eventName: adapter.events.push, deliveryId: "d1" }, "s3");
      expect(adapter.verify("s3", body, headers)).toBe(true);
      expect(adapter.verify("s4", body, headers)).toBe(false);
      expect(detectPlatform(headers)).toEqual({
        platform: adapter.kind,
        eventName: adapter.events.push,
        deliveryId: "d1",
      });
      const unsigned = adapter.sign(body, { eventName: adapter.events.push, deliveryId: undefined });
      expect(adapter.verify("s3", body, unsigned)).toBe(false);
    }
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
    const n = PLATFORMS.github.normalize("push", payload);
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
    expect(PLATFORMS.github.normalize("ping", {})).toMatchObject({ kind: "ignored" });
    expect(PLATFORMS.github.normalize("push", { ...payload, after: "0".repeat(40) })).toMatchObject({
      kind: "ignored",
      reason: "refs/heads/main was deleted",
    });
    expect(PLATFORMS.github.normalize("push", { ...payload, commits: [] })).toMatchObject({ kind: "ignored" });
  });

  it("rejects a payload missing what a push needs", () => {
    expect(() => PLATFORMS.github.normalize("push", { ...payload, after: "nope" })).toThrow(/after/);
    expect(() => PLATFORMS.github.normalize("push", { ref: "x" })).toThrow(/INVALID|payload/);
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
