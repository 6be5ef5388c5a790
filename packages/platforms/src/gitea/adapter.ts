import type { PlatformAdapter } from "../adapter.ts";
import { detectBy } from "../detect.ts";
import { normalizeGithubShapes } from "../github/payloads.ts";
import { hmacSha256Hex, safeEqual } from "../hmac.ts";

/**
 * Gitea: `X-Gitea-Event`, `X-Gitea-Delivery`, `X-Gitea-Signature: <HMAC-SHA256 hex>`, GitHub's payload
 * shapes. It sends GitHub's and Gogs' headers as well, so it must be detected before GitHub.
 */
export const gitea: PlatformAdapter<"gitea"> = {
  kind: "gitea",
  eventHeader: "X-Gitea-Event",
  events: { push: "push", pullRequest: "pull_request" },
  tokenUsername: "git",
  detect: detectBy("X-Gitea-Event", "X-Gitea-Delivery"),
  verify(secret, body, headers) {
    const given = headers["x-gitea-signature"];
    if (!given) return false;
    return safeEqual(given.toLowerCase(), hmacSha256Hex(secret, body));
  },
  sign(body, delivery, secret) {
    // Gitea also sends GitHub's and Gogs' headers, for receivers written for those.
    const headers: Record<string, string> = {
      "x-gitea-event": delivery.eventName,
      "x-gitea-event-type": delivery.eventName,
      "x-github-event": delivery.eventName,
      "x-gogs-event": delivery.eventName,
    };
    if (delivery.deliveryId !== undefined) {
      headers["x-gitea-delivery"] = delivery.deliveryId;
      headers["x-github-delivery"] = delivery.deliveryId;
    }
    if (secret !== undefined) {
      const hex = hmacSha256Hex(secret, body);
      headers["x-gitea-signature"] = hex;
      headers["x-hub-signature-256"] = `sha256=${hex}`;
    }
    return headers;
  },
  normalize: (eventName, body) => normalizeGithubShapes("gitea", eventName, body),
};
