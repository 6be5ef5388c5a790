import { credential, doc } from "@varstream/shared";
import { z } from "zod";

/** What a control-plane token may do. */
export const TOKEN_SCOPES = ["tasks:read", "sync", "dry-run", "replay", "metrics"] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

export const ApiToken = z
  .object({
    name: doc(
      z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, "a name of letters, digits and . _ @ -"),
      "who holds the token; recorded with every control action it makes",
      "release-bot",
    ),
    token: credential("the bearer token (at least 32 characters; compared by its SHA-256, never logged)", {
      env: "VARSTREAM_RELEASE_BOT_TOKEN",
    }),
    scopes: doc(z.array(z.enum(TOKEN_SCOPES)).min(1), `what it may do: ${TOKEN_SCOPES.join(", ")}`, [
      "tasks:read",
      "sync",
    ]),
  })
  .strict();
export type ApiToken = z.infer<typeof ApiToken>;

/**
 * Who may use ingest's HTTP API and gRPC control calls. Without tokens the control plane is open:
 * development only (ingest binds 127.0.0.1 by default there); APP_ENV=production refuses to start.
 */
export const ControlPlane = z
  .object({
    tokens: doc(
      z.array(ApiToken).default([]),
      "bearer tokens (`Authorization: Bearer …`, gRPC metadata `authorization`)",
    ),
    open_metrics: doc(z.boolean().default(false), "serve /metrics without a token (a scraper inside the network)"),
  })
  .strict();
export type ControlPlane = z.infer<typeof ControlPlane>;
