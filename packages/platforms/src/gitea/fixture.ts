import { giteaPushPayload, giteaRequest, githubPullRequestPayload } from "@varstream/testkit";
import type { PlatformFixture } from "../fixture.ts";

/** Gitea sends GitHub's shapes; its pull request action for new commits is `synchronized`. */
export const fixture: PlatformFixture = {
  push: (repo, c, secret) => giteaRequest(giteaPushPayload(repo, c), { secret }),
  tag: (repo, c, tag, secret) =>
    giteaRequest({ ...giteaPushPayload(repo, c, `refs/tags/${tag}`), before: "0".repeat(40), commits: [] }, { secret }),
  pullRequest: (repo, spec, secret) =>
    giteaRequest(
      githubPullRequestPayload(repo, { ...spec, action: spec.action === "synchronize" ? "synchronized" : spec.action }),
      { secret, event: "pull_request" },
    ),
  prRef: (n) => `refs/pull/${n}/head`,
};
