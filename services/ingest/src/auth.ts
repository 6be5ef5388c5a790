import { createHash, timingSafeEqual } from "node:crypto";
import type { ControlPlane, TokenScope } from "@varstream/bundle";
import { ApiError, type Logger, type Secrets } from "@varstream/shared";

/** Who made a control call: a token's name, or `anonymous` on an open (development) control plane. */
export interface Caller {
  name: string;
}

const MIN_TOKEN_LENGTH = 32;

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();

/**
 * The control plane's bearer tokens, resolved once at start and kept only as SHA-256 digests. Every
 * presented token is hashed and compared to each digest in constant time.
 */
export class ControlAuth {
  private readonly tokens: { name: string; digest: Buffer; scopes: Set<TokenScope> }[];
  readonly openMetrics: boolean;

  private constructor(tokens: ControlAuth["tokens"], openMetrics: boolean) {
    this.tokens = tokens;
    this.openMetrics = openMetrics;
  }

  static async load(
    plane: ControlPlane,
    secrets: Secrets,
    options: { appEnv: string; logger: Logger },
  ): Promise<ControlAuth> {
    const tokens: ControlAuth["tokens"] = [];
    for (const t of plane.tokens) {
      const value = await secrets.resolve(t.token);
      if (value.length < MIN_TOKEN_LENGTH) {
        throw new Error(`control_plane token ${t.name} is shorter than ${MIN_TOKEN_LENGTH} characters`);
      }
      tokens.push({ name: t.name, digest: digest(value), scopes: new Set(t.scopes) });
    }
    if (tokens.length === 0) {
      if (options.appEnv === "production") {
        throw new Error(
          "APP_ENV=production needs control_plane.tokens: the HTTP API and gRPC control calls would be open",
        );
      }
      options.logger.warn("control plane is open (no control_plane.tokens): development only");
    }
    return new ControlAuth(tokens, plane.open_metrics);
  }

  get open(): boolean {
    return this.tokens.length === 0;
  }

  /**
   * The caller of a request with this `Authorization` value, if it may use `scope`: 401
   * UNAUTHENTICATED without a known token, 403 FORBIDDEN when the token lacks the scope.
   */
  authorize(authorization: string | undefined, scope: TokenScope): Caller {
    if (this.open) return { name: "anonymous" };
    if (scope === "metrics" && this.openMetrics) return { name: "anonymous" };
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    if (!match) throw new ApiError("UNAUTHENTICATED", "a bearer token is required (Authorization: Bearer …)");
    const presented = digest(match[1]!);
    // Compare against every token, so the time taken does not tell which (if any) matched.
    let found: (typeof this.tokens)[number] | undefined;
    for (const t of this.tokens) if (timingSafeEqual(presented, t.digest) && !found) found = t;
    if (!found) throw new ApiError("UNAUTHENTICATED", "the bearer token is not known");
    if (!found.scopes.has(scope)) throw new ApiError("FORBIDDEN", `token ${found.name} lacks the ${scope} scope`);
    return { name: found.name };
  }
}
