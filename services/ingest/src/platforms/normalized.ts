import type { WebhookEvent } from "@varstream/shared";
import type { z } from "zod";
import { ApiError } from "../errors.ts";
import { type CommitFiles, netChanges } from "./changes.ts";
import { checkPaths } from "./paths.ts";

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

/** A push (branch or tag) of any platform, once its payload is parsed. */
export interface ParsedPush {
  platform: NormalizedPayload["platform"];
  repo: NormalizedPayload["repo"];
  ref: string;
  before: string;
  after: string;
  commits: CommitFiles[];
}

/**
 * The normalized event of a push: a deleted ref or a branch push that changes no file is ignored; a
 * tag push may list no file (ETL then reads every file at the tag).
 */
export function pushEvent(push: ParsedPush): Normalization {
  if (ZERO_SHA.test(push.after)) return { kind: "ignored", reason: `${push.ref} was deleted` };
  const names = refNames(push.ref);
  const changes = checkPaths(netChanges(push.commits));
  if (changes.length === 0 && names.tag === undefined) return { kind: "ignored", reason: "push changes no file" };
  return {
    kind: "event",
    payload: {
      platform: push.platform,
      event: names.tag === undefined ? "push" : "tag",
      repo: push.repo,
      ref: push.ref,
      ...names,
      before: push.before,
      after: push.after,
      changes,
    },
  };
}
