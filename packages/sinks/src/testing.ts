import { randomUUID } from "node:crypto";
import { createLogger, type KeySet, type Scope, Secrets } from "@varstream/shared";
import { desiredOf, makeKeySet } from "@varstream/testkit";
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

/** Apply options for tests: one retry after 10 ms, nothing logged. */
export const retryOnce = { maxRetries: 1, retryBaseMs: 10, logger: createLogger("test", "silent") };
/** Apply options for tests: no retry. */
export const noRetry = { ...retryOnce, maxRetries: 0 };
/** What `connect` is given in tests: secrets from the environment. */
export const testDeps = { secrets: new Secrets() };

/** A key set of `keys` for a scope, with prune on and these protection globs. */
export const keySetOf = (scope: Scope, taskId: string, keys: KeySet["keys"], protection: string[] = []) =>
  makeKeySet(scope, keys, { task_id: taskId, prune: { enabled: true, protection } });

/** The desired state of a scope of `app.yaml` in `acme/c`, under a new task id. */
export function desiredAt(datasource: string, destination: string, keys: KeySet["keys"]) {
  const scope: Scope = { datasource, destination, repo: "acme/c", file: "app.yaml" };
  return desiredOf(makeKeySet(scope, keys, { task_id: randomUUID() }));
}
