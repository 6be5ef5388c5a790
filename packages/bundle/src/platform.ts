import { SecretRef } from "@varstream/shared";
import { z } from "zod";
import { doc } from "./describe.ts";

const credential = (description: string) => doc(SecretRef, description).optional();

/** One git host of a kind of the platform registry (github, gitea, gitlab). */
export const PlatformConfig = z
  .object({
    tag: doc(
      z
        .string()
        .regex(/^[a-z0-9][a-z0-9_-]*$/)
        .optional(),
      "names the platform `<kind>-<tag>` (needed when a bundle has two of one kind)",
      "internal",
    ),
    endpoint: doc(
      z.string().min(1),
      "the host's base URL; clone URLs of its events must be under it",
      "https://github.com/acme",
    ),
    secret: credential(
      "the webhook secret (GitHub/Gitea HMAC key, GitLab token); unsigned webhooks are refused when set",
    ),
    token: credential("a token for cloning over https"),
    username: credential("the username sent with token or password (default: what the host expects with a token)"),
    password: credential("a password for cloning over https, when there is no token"),
    ssh_key: credential("a private key for ssh:// clone URLs"),
  })
  .strict();
export type PlatformConfig = z.infer<typeof PlatformConfig>;
