import { z } from "zod";
import { PipelineEvent } from "../contracts/event.ts";
import { KeySet } from "../contracts/keyset.ts";
import { StatusReport } from "../contracts/status.ts";
import type { Topics } from "./topics.ts";

/** The contract each topic's values follow: the one definition both the code and the registry use. */
export const TOPIC_CONTRACTS = [
  { name: "event", contract: PipelineEvent, topics: (t: Topics) => [t.webhooks, t.webhooksRetry] },
  { name: "keyset", contract: KeySet, topics: (t: Topics) => [t.keysets] },
  { name: "status", contract: StatusReport, topics: (t: Topics) => [t.status] },
] as const;

export type ContractName = (typeof TOPIC_CONTRACTS)[number]["name"];

/**
 * A contract as JSON Schema (draft-07), generated from its zod schema. Objects are closed
 * (`additionalProperties: false`): under BACKWARD compatibility an optional field can then be added
 * and a required one cannot — with open objects, a schema registry counts any new field as narrowing.
 */
export function contractJsonSchema(name: ContractName): Record<string, unknown> {
  const entry = TOPIC_CONTRACTS.find((c) => c.name === name);
  if (!entry) throw new Error(`no contract ${name}`);
  return { title: `varstream ${name}`, ...z.toJSONSchema(entry.contract, { target: "draft-7", io: "output" }) };
}

/** The registry subject of a topic's values (the TopicNameStrategy every Kafka tool defaults to). */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}
