import type { PlatformFixture } from "./fixture.ts";
import { PLATFORM_KINDS, type Platform } from "./registry.ts";

export type { CommitRef, PlatformFixture, PullRequestSpec, RepoRef, SignedRequest } from "./fixture.ts";

/**
 * Every platform's fixture, from its folder (`src/<kind>/fixture.ts`), in registry order: a platform
 * without one fails here. Test support (`@varstream/platforms/testing`).
 */
export async function loadFixtures(): Promise<[Platform, PlatformFixture][]> {
  return Promise.all(
    PLATFORM_KINDS.map(async (kind): Promise<[Platform, PlatformFixture]> => {
      const module = (await import(`./${kind}/fixture.ts`)) as { fixture?: PlatformFixture };
      if (!module.fixture) throw new Error(`packages/platforms/src/${kind}/fixture.ts exports no fixture`);
      return [kind, module.fixture];
    }),
  );
}
