import type { SinkFixture } from "./fixture.ts";
import { SINK_KINDS, type SinkKind } from "./registry.ts";

export type { OpenOptions, OpenStore, OutageSpec, SinkFixture, StoreView } from "./fixture.ts";

/**
 * Every kind's fixture, from its folder (`src/<kind>/fixture.ts`), in registry order: a kind without
 * one fails here. Test support (`@varstream/sinks/testing`): the shared sink tests and the end-to-end
 * tests reach every sink's real store through these.
 */
export async function loadFixtures(): Promise<[SinkKind, SinkFixture][]> {
  return Promise.all(
    SINK_KINDS.map(async (kind): Promise<[SinkKind, SinkFixture]> => {
      const module = (await import(`./${kind}/fixture.ts`)) as { fixture?: SinkFixture };
      if (!module.fixture) throw new Error(`packages/sinks/src/${kind}/fixture.ts exports no fixture`);
      return [kind, module.fixture];
    }),
  );
}
