import { z } from "zod";
import { ApiError } from "../errors.ts";
import { netChanges } from "./changes.ts";
import { type Normalization, ZERO_SHA } from "./normalized.ts";

const Sha = z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, "not a commit sha");

const PushPayload = z.object({
  ref: z.string().min(1),
  before: Sha,
  after: Sha,
  repository: z.object({ full_name: z.string().min(1), clone_url: z.string().min(1) }),
  commits: z
    .array(
      z.object({
        added: z.array(z.string()).optional(),
        modified: z.array(z.string()).optional(),
        removed: z.array(z.string()).optional(),
      }),
    )
    .default([]),
});

function invalid(error: z.ZodError): ApiError {
  const issue = error.issues[0];
  return new ApiError(
    "INVALID_PAYLOAD",
    `payload ${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "invalid"}`,
    error.issues.slice(0, 5).map((i) => ({ path: i.path.join("."), message: i.message })),
  );
}

/** Maps a GitHub (or Gitea, which sends the same push shape) event to the normalized event. */
export function normalizeGithub(eventName: string, body: unknown, platform: "github" | "gitea"): Normalization {
  if (eventName !== "push") return { kind: "ignored", reason: `${eventName} events carry no config change` };
  const parsed = PushPayload.safeParse(body);
  if (!parsed.success) throw invalid(parsed.error);
  const push = parsed.data;
  if (ZERO_SHA.test(push.after)) return { kind: "ignored", reason: `${push.ref} was deleted` };
  const branch = push.ref.startsWith("refs/heads/") ? push.ref.slice("refs/heads/".length) : undefined;
  const tag = push.ref.startsWith("refs/tags/") ? push.ref.slice("refs/tags/".length) : undefined;
  const changes = netChanges(push.commits);
  if (changes.length === 0) return { kind: "ignored", reason: "push changes no file" };
  return {
    kind: "event",
    payload: {
      platform,
      event: tag === undefined ? "push" : "tag",
      repo: { full_name: push.repository.full_name, clone_url: push.repository.clone_url },
      ref: push.ref,
      ...(branch === undefined ? {} : { branch }),
      ...(tag === undefined ? {} : { tag }),
      before: push.before,
      after: push.after,
      changes,
    },
  };
}
