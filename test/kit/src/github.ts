import { randomUUID } from "node:crypto";
import { PLATFORMS } from "@varstream/platforms";
import type { CommitResult, RepoLike } from "./git-repo.ts";

/** A GitHub push payload as GitHub documents it (the fields varstream reads, plus realistic extras). */
export function githubPushPayload(repo: RepoLike, push: CommitResult, branch = "main"): Record<string, unknown> {
  const [owner, name] = repo.fullName.split("/");
  return {
    ref: `refs/heads/${branch}`,
    before: push.before,
    after: push.after,
    created: /^0+$/.test(push.before),
    deleted: false,
    forced: false,
    compare: `https://github.com/${repo.fullName}/compare/${push.before.slice(0, 12)}...${push.after.slice(0, 12)}`,
    commits: [
      {
        id: push.after,
        tree_id: push.after,
        distinct: true,
        message: "change config",
        timestamp: new Date().toISOString(),
        author: { name: "varstream test", email: "test@varstream.invalid" },
        added: push.added,
        removed: push.removed,
        modified: push.modified,
      },
    ],
    head_commit: { id: push.after, added: push.added, removed: push.removed, modified: push.modified },
    repository: {
      id: 1,
      name,
      full_name: repo.fullName,
      owner: { login: owner, name: owner },
      private: true,
      clone_url: repo.cloneUrl,
      default_branch: "main",
      // GitHub signs the push time with the body; ingest refuses deliveries older than its dedupe window.
      pushed_at: Math.floor(Date.now() / 1000),
    },
    pusher: { name: "varstream-test", email: "test@varstream.invalid" },
    sender: { login: "varstream-test" },
  };
}

export interface SignedRequest {
  headers: Record<string, string>;
  body: string;
}

/** Headers GitHub sends with a delivery, signed with `secret` when given. A string payload is sent as is. */
export function githubRequest(
  payload: unknown,
  { secret, event = "push", delivery = randomUUID() }: { secret?: string; event?: string; delivery?: string } = {},
): SignedRequest {
  const body = typeof payload === "string" ? payload : JSON.stringify(payload);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "GitHub-Hookshot/test",
    ...PLATFORMS.github.sign(body, { eventName: event, deliveryId: delivery }, secret),
  };
  return { headers, body };
}
