export type { Delivery, FileChange, Headers, Normalization, NormalizedPayload, PlatformAdapter } from "./adapter.ts";
export { PlatformError, type PlatformErrorCode } from "./errors.ts";
export { hmacSha256Hex } from "./hmac.ts";
export { netChanges } from "./push.ts";
export { detectPlatform, eventHeaders, PLATFORM_KINDS, PLATFORMS, Platform } from "./registry.ts";
