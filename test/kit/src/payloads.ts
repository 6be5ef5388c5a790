import { randomUUID } from "node:crypto";
import { PLATFORMS } from "@varstream/platforms";
import type { PullRequestSpec } from "@varstream/platforms/testing";
import type { CommitResult, RepoLike } from "./git-repo.ts";
import { githubPushPayload, type SignedRequest } from "./github.ts";

/**
 * Webhook payloads of GitHub, Gitea and GitLab, shaped as each platform documents them (the fields
 * varstream reads plus the usual company), and the headers each platform sends with them.
 */

const user = { id: 1, login: "octo", username: "octo", name: "Octo Cat", email: "octo@varstream.invalid" };

function githubRepo(repo: RepoLike) {
  const [owner, name] = repo.fullName.split("/");
  return {
    id: 42,
    name,
    full_name: repo.fullName,
    owner: { login: owner },
    private: true,
    clone_url: repo.cloneUrl,
    default_branch: "main",
  };
}

export type { PullRequestSpec };

export function githubPullRequestPayload(repo: RepoLike, pr: PullRequestSpec): Record<string, unknown> {
  const base = githubRepo(repo);
  const headRepo = pr.fork
    ? { ...base, id: 43, full_name: pr.fork, clone_url: `https://github.com/${pr.fork}.git` }
    : base;
  return {
    action: pr.action,
    number: pr.number,
    pull_request: {
      id: 1000 + pr.number,
      number: pr.number,
      state: pr.action === "closed" ? "closed" : "open",
      title: "Change config",
      user,
      merged: false,
      head: {
        label: `octo:${pr.headBranch ?? "feature"}`,
        ref: pr.headBranch ?? "feature",
        sha: pr.head,
        repo: headRepo,
      },
      base: { label: `octo:${pr.baseBranch ?? "main"}`, ref: pr.baseBranch ?? "main", sha: pr.base, repo: base },
    },
    repository: base,
    sender: user,
  };
}

/** Gitea sends GitHub's push shape (plus its own fields); its PR action for new commits is "synchronized". */
export function giteaPushPayload(repo: RepoLike, push: CommitResult, ref = "refs/heads/main"): Record<string, unknown> {
  const payload = githubPushPayload(repo, push, ref.replace(/^refs\/heads\//, ""));
  return {
    ...payload,
    ref,
    total_commits: 1,
    pusher: { ...user },
    repository: { ...githubRepo(repo), html_url: repo.cloneUrl },
  };
}

export function gitlabPushPayload(
  repo: RepoLike,
  push: CommitResult,
  { ref = "refs/heads/main", kind = "push" }: { ref?: string; kind?: "push" | "tag_push" } = {},
): Record<string, unknown> {
  const project = gitlabProject(repo);
  return {
    object_kind: kind,
    event_name: kind,
    before: push.before,
    after: push.after,
    ref,
    checkout_sha: push.after,
    user_id: 1,
    user_name: user.name,
    user_username: user.login,
    project_id: project.id,
    project,
    commits:
      kind === "tag_push"
        ? []
        : [
            {
              id: push.after,
              message: "change config",
              timestamp: new Date().toISOString(),
              author: { name: user.name, email: user.email },
              added: push.added,
              modified: push.modified,
              removed: push.removed,
            },
          ],
    total_commits_count: kind === "tag_push" ? 0 : 1,
    repository: {
      name: project.name,
      url: project.git_ssh_url,
      homepage: project.web_url,
      git_http_url: project.git_http_url,
    },
  };
}

function gitlabProject(repo: RepoLike) {
  return {
    id: 7,
    name: repo.fullName.split("/")[1],
    path_with_namespace: repo.fullName,
    web_url: repo.cloneUrl,
    git_http_url: repo.cloneUrl,
    git_ssh_url: `git@gitlab.invalid:${repo.fullName}.git`,
    default_branch: "main",
  };
}

export function gitlabMergeRequestPayload(repo: RepoLike, pr: PullRequestSpec): Record<string, unknown> {
  const project = gitlabProject(repo);
  const action = { opened: "open", synchronize: "update", reopened: "reopen", closed: "close" }[pr.action] ?? pr.action;
  return {
    object_kind: "merge_request",
    event_type: "merge_request",
    user: { id: 1, name: user.name, username: user.login },
    project,
    object_attributes: {
      id: 2000 + pr.number,
      iid: pr.number,
      action,
      state: action === "close" ? "closed" : "opened",
      source_branch: pr.headBranch ?? "feature",
      target_branch: pr.baseBranch ?? "main",
      source_project_id: pr.fork ? 8 : project.id,
      target_project_id: project.id,
      last_commit: { id: pr.head, message: "change config", author: { name: user.name, email: user.email } },
    },
    repository: { name: project.name, url: project.git_ssh_url, homepage: project.web_url },
  };
}

export function giteaRequest(
  payload: unknown,
  { secret, event = "push", delivery = randomUUID() }: { secret?: string; event?: string; delivery?: string } = {},
): SignedRequest {
  const body = JSON.stringify(payload);
  // Gitea sends GitHub's and Gogs' headers too (its adapter signs as Gitea does); varstream must still see Gitea.
  const headers = {
    "content-type": "application/json",
    ...PLATFORMS.gitea.sign(body, { eventName: event, deliveryId: delivery }, secret),
  };
  return { headers, body };
}

export function gitlabRequest(
  payload: unknown,
  { token, event = "Push Hook", delivery = randomUUID() }: { token?: string; event?: string; delivery?: string } = {},
): SignedRequest {
  const body = JSON.stringify(payload);
  const headers = {
    "content-type": "application/json",
    "x-gitlab-instance": "https://gitlab.invalid",
    ...PLATFORMS.gitlab.sign(body, { eventName: event, deliveryId: delivery }, token),
  };
  return { headers, body };
}
