import { createHmac, timingSafeEqual } from "node:crypto";

/** HMAC-SHA256 of a body, lower-case hex: what GitHub and Gitea sign their deliveries with. */
export function hmacSha256Hex(secret: string, body: Buffer | string): string {
  return createHmac("sha256", secret).update(body).digest("hex");
}

/** Constant-time comparison that also hides a length mismatch behind a comparison of equal-length buffers. */
export function safeEqual(given: string, expected: string): boolean {
  const a = Buffer.from(given, "utf8");
  const b = Buffer.from(expected, "utf8");
  if (a.length !== b.length) {
    timingSafeEqual(b, b);
    return false;
  }
  return timingSafeEqual(a, b);
}
