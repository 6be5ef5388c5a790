import { decodeBundle } from "@varstream/bundle";
import { ApiError, createLogger, loadSettings, Secrets } from "@varstream/shared";
import { describe, expect, it } from "vitest";
import { ControlAuth } from "../src/auth.ts";
import { startIngest } from "../src/service.ts";

const logger = createLogger("test", "silent");
const TOKEN = "t".repeat(40);
const plane = (tokens: { name: string; token: string; scopes: string[] }[], open_metrics = false) =>
  decodeBundle({
    bundle: {
      platforms: [{ github: { endpoint: "https://github.com", secret: "s" } }],
      control_plane: { tokens, open_metrics },
    },
  });

describe("control-plane tokens", () => {
  it("authorizes by the token's scopes: 401 without a known token, 403 without the scope", async () => {
    const bundle = plane([{ name: "ci", token: TOKEN, scopes: ["tasks:read"] }]);
    const auth = await ControlAuth.load(bundle.controlPlane, new Secrets(), { appEnv: "development", logger });
    expect(auth.authorize(`Bearer ${TOKEN}`, "tasks:read")).toEqual({ name: "ci" });
    const codes = (header: string | undefined, scope: "sync" | "tasks:read") => {
      try {
        auth.authorize(header, scope);
        return "allowed";
      } catch (err) {
        return (err as ApiError).code;
      }
    };
    expect(codes(undefined, "tasks:read")).toBe("UNAUTHENTICATED");
    expect(codes(`Bearer ${TOKEN}x`, "tasks:read")).toBe("UNAUTHENTICATED");
    expect(codes(`Basic ${TOKEN}`, "tasks:read")).toBe("UNAUTHENTICATED");
    expect(codes(`Bearer ${TOKEN}`, "sync")).toBe("FORBIDDEN");
    expect(codes(`Bearer ${TOKEN}`, "metrics" as "sync")).toBe("FORBIDDEN");
  });

  it("serves metrics without a token only when open_metrics says so", async () => {
    const bundle = plane([{ name: "ci", token: TOKEN, scopes: ["sync"] }], true);
    const auth = await ControlAuth.load(bundle.controlPlane, new Secrets(), { appEnv: "production", logger });
    expect(auth.authorize(undefined, "metrics")).toEqual({ name: "anonymous" });
    expect(() => auth.authorize(undefined, "sync")).toThrow(ApiError);
  });

  it("refuses short tokens, and an open control plane in production", async () => {
    await expect(
      ControlAuth.load(plane([{ name: "ci", token: "short", scopes: ["sync"] }]).controlPlane, new Secrets(), {
        appEnv: "development",
        logger,
      }),
    ).rejects.toThrow(/shorter than 32/);
    await expect(
      ControlAuth.load(plane([]).controlPlane, new Secrets(), { appEnv: "production", logger }),
    ).rejects.toThrow(/needs control_plane.tokens/);
    const open = await ControlAuth.load(plane([]).controlPlane, new Secrets(), { appEnv: "development", logger });
    expect(open.authorize(undefined, "sync")).toEqual({ name: "anonymous" });
  });
});

describe("webhook platforms", () => {
  it("a platform without a secret loads inactive, with a notice; a secret and insecure_skip_signature together are refused", () => {
    const secretless = decodeBundle({ bundle: { platforms: [{ github: { endpoint: "https://github.com" } }] } });
    expect(secretless.notices).toContainEqual(
      expect.objectContaining({
        path: "bundle.platforms[0].github",
        kind: "inactive",
        message: expect.stringMatching(/has no secret/),
      }),
    );
    expect(() =>
      decodeBundle({
        bundle: {
          platforms: [{ github: { endpoint: "https://github.com", secret: "s", insecure_skip_signature: true } }],
        },
      }),
    ).toThrow(/remove one/);
  });

  it("production refuses to start with an insecure_skip_signature platform", async () => {
    const bundle = decodeBundle({
      bundle: {
        platforms: [{ github: { endpoint: "https://github.com", insecure_skip_signature: true } }],
        control_plane: { tokens: [{ name: "ci", token: TOKEN, scopes: ["sync"] }] },
      },
    });
    await expect(startIngest({ settings: loadSettings({ APP_ENV: "production" }), bundle, logger })).rejects.toThrow(
      /insecure_skip_signature/,
    );
  });
});
