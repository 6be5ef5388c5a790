import { createHmac, timingSafeEqual } from "node:crypto";
import type { Platform } from "@varstream/shared";

/** Constant-time comparison that also hides a length mismatch behind a comparison of equal-length digests. */
function safeEqual(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

function hmacHex(secret: string, body: Buffer): Buffer {
  return Buffer.from(createHmac("sha256", secret).update(body).digest("hex"), "utf8");
}

/**
 * Verifies a webhook's signature for its platform: GitHub `X-Hub-Signature-256: sha256=<hex>`, Gitea
 * `X-Gitea-Signature: <hex>` (both HMAC-SHA256 of the raw body), GitLab `X-Gitlab-Token` equality.
 */
export function verifySignature(
  platform: Platform,
  secret: string,
  body: Buffer,
  headers: Record<string, string | undefined>,
): boolean {
  switch (platform) {
    case "github": {
      const given = headers["x-hub-signature-256"];
      if (!given?.startsWith("sha256=")) return false;
      return safeEqual(Buffer.from(given.slice(7).toLowerCase(), "utf8"), hmacHex(secret, body));
    }
    case "gitea": {
      const given = headers["x-gitea-signature"];
      if (!given) return false;
      return safeEqual(Buffer.from(given.toLowerCase(), "utf8"), hmacHex(secret, body));
    }
    case "gitlab": {
      const given = headers["x-gitlab-token"];
      if (given === undefined) return false;
      return safeEqual(Buffer.from(given, "utf8"), Buffer.from(secret, "utf8"));
    }
  }
}
