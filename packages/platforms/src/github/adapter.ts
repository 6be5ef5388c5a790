import type { PlatformAdapter } from "../adapter.ts";
import { detectBy } from "../detect.ts";
import { hmacSha256Hex, safeEqual } from "../hmac.ts";
import { normalizeGithubShapes } from "./payloads.ts";

/** GitHub: `X-GitHub-Event`, `X-GitHub-Delivery`, `X-Hub-Signature-256: sha256=<HMAC-SHA256 hex of the body>`. */
export const github: PlatformAdapter<"github"> = {
  kind: "github",
  eventHeader: "X-GitHub-Event",
  events: { push: "push", pullRequest: "pull_request" },
  tokenUsername: "x-access-token",
  detect: detectBy("X-GitHub-Event", "X-GitHub-Delivery"),
  verify(secret, body, headers) {
    const given = headers["x-hub-signature-256"];
    if (!given?.startsWith("sha256=")) return false;
    return safeEqual(given.slice(7).toLowerCase(), hmacSha256Hex(secret, body));
  },
  sign(body, delivery, secret) {
    return {
      "x-github-event": delivery.eventName,
      ...(delivery.deliveryId === undefined ? {} : { "x-github-delivery": delivery.deliveryId }),
      ...(secret === undefined ? {} : { "x-hub-signature-256": `sha256=${hmacSha256Hex(secret, body)}` }),
    };
  },
  normalize: (eventName, body) => normalizeGithubShapes("github", eventName, body),
};
