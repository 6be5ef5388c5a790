import { z } from "zod";
import type { Normalization } from "../adapter.ts";
import { invalid, PlatformError } from "../errors.ts";
import { PR_ACTIONS, pushEvent } from "../push.ts";

export const Sha = z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, "not a commit sha");

const Repository = z.object({ full_name: z.string().min(1), clone_url: z.string().min(1) });

const CommitFiles = z.object({
  added: z.array(z.string()).optional(),
  modified: z.array(z.string()).optional(),
  removed: z.array(z.string()).optional(),
});

const PushPayload = z.object({
  ref: z.string().min(1),
  before: Sha,
  after: Sha,
  repository: Repository,
  commits: z.array(CommitFiles).default([]),
});

const PullRequestPayload = z.object({
  action: z.string(),
  number: z.number().int().positive(),
  pull_request: z.object({
    head: z.object({ sha: Sha, ref: z.string(), repo: Repository.nullable() }),
    base: z.object({ sha: Sha, ref: z.string(), repo: Repository }),
  }),
  repository: Repository,
});

/** Gitea names some pull request actions differently. */
const ACTION_NAMES: Record<string, string> = { synchronized: "synchronize" };

/**
 * GitHub's payload shapes, which Gitea sends too: `push` (branches and tags) and `pull_request`.
 * A pull request's changed files are not in its payload: ETL diffs base and head.
 */
export function normalizeGithubShapes(platform: string, eventName: string, body: unknown): Normalization {
  if (eventName === "push") return push(platform, body);
  if (eventName === "pull_request") return pullRequest(platform, body);
  return { kind: "ignored", reason: `${eventName} events carry no config change` };
}

function push(platform: string, body: unknown): Normalization {
  const parsed = PushPayload.safeParse(body);
  if (!parsed.success) throw invalid(parsed.error);
  const p = parsed.data;
  return pushEvent({
    platform,
    repo: { full_name: p.repository.full_name, clone_url: p.repository.clone_url },
    ref: p.ref,
    before: p.before,
    after: p.after,
    commits: p.commits,
  });
}

function pullRequest(platform: string, body: unknown): Normalization {
  const parsed = PullRequestPayload.safeParse(body);
  if (!parsed.success) throw invalid(parsed.error);
  const p = parsed.data;
  const action = ACTION_NAMES[p.action] ?? p.action;
  if (!PR_ACTIONS.has(action)) return { kind: "ignored", reason: `pull_request action ${p.action} changes no config` };
  const { head, base } = p.pull_request;
  if (head.repo === null || head.repo.full_name !== base.repo.full_name) {
    throw new PlatformError(
      "UNSUPPORTED_EVENT",
      `pull request #${p.number} comes from the fork ${head.repo?.full_name ?? "(deleted)"}; config from forks is not synced`,
    );
  }
  return {
    kind: "event",
    payload: {
      platform,
      event: "pull_request",
      repo: { full_name: p.repository.full_name, clone_url: p.repository.clone_url },
      ref: `refs/pull/${p.number}/head`,
      branch: head.ref,
      pr: { number: p.number, action, head_sha: head.sha, base_ref: base.ref },
      before: base.sha,
      after: head.sha,
      changes: [],
    },
  };
}
