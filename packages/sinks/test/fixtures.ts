import { createLogger, Secrets } from "@varstream/shared";
import type { Sink } from "../src/contract.ts";
import type { OpenOptions, OpenStore, SinkFixture } from "../src/fixture.ts";
import { connectSink, type SinkKind } from "../src/registry.ts";
import { loadFixtures } from "../src/testing.ts";

/** Every kind's fixture, from its folder (`src/<kind>/fixture.ts`): a kind without one fails here. */
export const FIXTURES: [SinkKind, SinkFixture][] = await loadFixtures();

/** Each kind once per variant (or once, when it has none): [label, kind, variant]. */
type Case = [label: string, kind: SinkKind, variant: string | undefined];
export const CASES: Case[] = FIXTURES.flatMap(([kind, fixture]): Case[] => {
  const variants = Object.keys(fixture.variants ?? {});
  return variants.length === 0 ? [[kind, kind, undefined]] : variants.map((v): Case => [`${kind} (${v})`, kind, v]);
});

const fixtureOf = (kind: SinkKind) => FIXTURES.find(([k]) => k === kind)![1];

export const logger = createLogger("test", "silent");

/** Opens a store of `kind` and connects a sink named `name` to it. */
export async function openSink(
  kind: SinkKind,
  name: string,
  options: OpenOptions = {},
): Promise<{ sink: Sink; store: OpenStore }> {
  const store = await fixtureOf(kind).open(options);
  const sink = await connectSink(kind, name, store.config, { secrets: new Secrets() });
  return { sink, store };
}
