import { gitlabMergeRequestPayload, gitlabPushPayload, gitlabRequest } from "@varstream/testkit";
import type { PlatformFixture } from "../fixture.ts";

export const fixture: PlatformFixture = {
  push: (repo, c, secret) => gitlabRequest(gitlabPushPayload(repo, c), { token: secret }),
  tag: (repo, c, tag, secret) =>
    gitlabRequest(
      gitlabPushPayload(repo, { ...c, before: "0".repeat(40) }, { ref: `refs/tags/${tag}`, kind: "tag_push" }),
      {
        token: secret,
        event: "Tag Push Hook",
      },
    ),
  pullRequest: (repo, spec, secret) =>
    gitlabRequest(gitlabMergeRequestPayload(repo, spec), { token: secret, event: "Merge Request Hook" }),
  prRef: (n) => `refs/merge-requests/${n}/head`,
};
