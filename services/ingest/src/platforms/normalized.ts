import type { WebhookEvent } from "@varstream/shared";
import type { z } from "zod";
import { ApiError } from "../errors.ts";

/** What a platform adapter derives from a payload; ingest adds task id, delivery, source and times. */
export type NormalizedPayload = Pick<
  WebhookEvent,
  "platform" | "event" | "repo" | "ref" | "branch" | "tag" | "pr" | "before" | "after" | "changes"
>;

export type Normalization = { kind: "event"; payload: NormalizedPayload } | { kind: "ignored"; reason: string };

export const ZERO_SHA = /^0+$/;

/** Pull request actions that change what a PR environment should hold, by their normalized name. */
export const PR_ACTIONS = new Set(["opened", "synchronize", "reopened", "closed"]);

export function invalid(error: z.ZodError): ApiError {
  const issue = error.issues[0];
  return new ApiError(
    "INVALID_PAYLOAD",
    `payload ${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "invalid"}`,
    error.issues.slice(0, 5).map((i) => ({ path: i.path.join("."), message: i.message })),
  );
}

export function refNames(ref: string): { branch?: string; tag?: string } {
  if (ref.startsWith("refs/heads/")) return { branch: ref.slice("refs/heads/".length) };
  if (ref.startsWith("refs/tags/")) return { tag: ref.slice("refs/tags/".length) };
  return {};
}
