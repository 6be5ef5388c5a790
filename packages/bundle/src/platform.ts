import { credential, doc, entryTag } from "@varstream/shared";
import { z } from "zod";

/** One git host of a kind of the platform registry (github, gitea, gitlab). */
export const PlatformConfig = z
  .object({
    tag: entryTag("platform", "internal"),
    endpoint: doc(
      z.string().min(1),
      "the host's base URL; clone URLs of its events must be under it",
      "https://github.com/acme",
    ),
    secret: credential(
      "the webhook secret (GitHub/Gitea HMAC key, GitLab token); every webhook must carry a valid signature (or token) for it",
    ).optional(),
    insecure_skip_signature: doc(
      z.boolean().default(false),
      "accept unsigned webhooks for this entry (no secret): local tests only, warned at every start, refused with APP_ENV=production",
    ),
    token: credential("a token for cloning over https").optional(),
    username: credential(
      "the username sent with token or password (default: what the host expects with a token)",
    ).optional(),
    password: credential("a password for cloning over https, when there is no token").optional(),
    ssh_key: credential("a private key for ssh:// clone URLs").optional(),
  })
  .strict();
export type PlatformConfig = z.infer<typeof PlatformConfig>;
