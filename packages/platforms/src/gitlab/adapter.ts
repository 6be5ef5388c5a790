import { z } from "zod";
import type { Normalization, PlatformAdapter } from "../adapter.ts";
import { detectBy } from "../detect.ts";
import { invalid, PlatformError } from "../errors.ts";
import { Sha } from "../github/payloads.ts";
import { safeEqual } from "../hmac.ts";
import { pushEvent } from "../push.ts";

const Project = z.object({
  id: z.number().optional(),
  path_with_namespace: z.string().min(1),
  git_http_url: z.string().min(1),
});

const PushPayload = z.object({
  object_kind: z.enum(["push", "tag_push"]),
  ref: z.string().min(1),
  before: Sha,
  after: Sha,
  project: Project,
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

const MergeRequestPayload = z.object({
  object_kind: z.literal("merge_request"),
  project: Project,
  object_attributes: z.object({
    iid: z.number().int().positive(),
    action: z.string().optional(),
    source_branch: z.string(),
    target_branch: z.string(),
    source_project_id: z.number(),
    target_project_id: z.number(),
    last_commit: z.object({ id: Sha }),
  }),
});

/** GitLab's merge request actions, by the normalized pull request action they mean. */
const MR_ACTIONS: Record<string, string> = {
  open: "opened",
  update: "synchronize",
  reopen: "reopened",
  close: "closed",
  merge: "closed",
};

/**
 * GitLab: `Push Hook` (object_kind push), `Tag Push Hook` (tag_push), `Merge Request Hook`
 * (merge_request). A merge request's base is its target branch; ETL diffs it against the head.
 */
function normalizeGitlab(body: unknown): Normalization {
  const kind = (body as { object_kind?: unknown } | null)?.object_kind;
  if (kind === "push" || kind === "tag_push") {
    const parsed = PushPayload.safeParse(body);
    if (!parsed.success) throw invalid(parsed.error);
    const p = parsed.data;
    return pushEvent({
      platform: "gitlab",
      repo: { full_name: p.project.path_with_namespace, clone_url: p.project.git_http_url },
      ref: p.ref,
      before: p.before,
      after: p.after,
      commits: p.commits,
    });
  }
  if (kind === "merge_request") {
    const parsed = MergeRequestPayload.safeParse(body);
    if (!parsed.success) throw invalid(parsed.error);
    const p = parsed.data;
    const mr = p.object_attributes;
    const action = MR_ACTIONS[mr.action ?? ""];
    if (action === undefined) return { kind: "ignored", reason: `merge_request action ${mr.action} changes no config` };
    if (mr.source_project_id !== mr.target_project_id) {
      throw new PlatformError(
        "UNSUPPORTED_EVENT",
        `merge request !${mr.iid} comes from a fork (project ${mr.source_project_id}); config from forks is not synced`,
      );
    }
    return {
      kind: "event",
      payload: {
        platform: "gitlab",
        event: "pull_request",
        repo: { full_name: p.project.path_with_namespace, clone_url: p.project.git_http_url },
        ref: `refs/merge-requests/${mr.iid}/head`,
        branch: mr.source_branch,
        pr: { number: mr.iid, action, head_sha: mr.last_commit.id, base_ref: mr.target_branch },
        before: "",
        after: mr.last_commit.id,
        changes: [],
      },
    };
  }
  return { kind: "ignored", reason: `${String(kind ?? "unknown")} events carry no config change` };
}

/**
 * GitLab: `X-Gitlab-Event`, `X-Gitlab-Event-UUID`, and no signature: the webhook's secret token is sent
 * as is in `X-Gitlab-Token`. The event kind is read from the payload's `object_kind`.
 */
export const gitlab: PlatformAdapter<"gitlab"> = {
  kind: "gitlab",
  eventHeader: "X-Gitlab-Event",
  events: { push: "Push Hook", pullRequest: "Merge Request Hook" },
  tokenUsername: "oauth2",
  detect: detectBy("X-Gitlab-Event", "X-Gitlab-Event-UUID"),
  verify(secret, _body, headers) {
    const given = headers["x-gitlab-token"];
    return given !== undefined && safeEqual(given, secret);
  },
  sign(_body, delivery, secret) {
    return {
      "x-gitlab-event": delivery.eventName,
      ...(delivery.deliveryId === undefined ? {} : { "x-gitlab-event-uuid": delivery.deliveryId }),
      ...(secret === undefined ? {} : { "x-gitlab-token": secret }),
    };
  },
  normalize: (_eventName, body) => normalizeGitlab(body),
};
