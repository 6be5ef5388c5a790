import { githubPullRequestPayload, githubPushPayload, githubRequest } from "@varstream/testkit";
import type { PlatformFixture } from "../fixture.ts";

export const fixture: PlatformFixture = {
  push: (repo, c, secret) => githubRequest(githubPushPayload(repo, c), { secret }),
  tag: (repo, c, tag, secret) =>
    githubRequest(
      { ...githubPushPayload(repo, c), ref: `refs/tags/${tag}`, before: "0".repeat(40), commits: [] },
      { secret },
    ),
  pullRequest: (repo, spec, secret) =>
    githubRequest(githubPullRequestPayload(repo, spec), { secret, event: "pull_request" }),
  prRef: (n) => `refs/pull/${n}/head`,
};
