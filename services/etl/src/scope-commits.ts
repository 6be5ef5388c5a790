import {
  DecodeError,
  headerText,
  jsonCodec,
  KeySet,
  type Logger,
  type Materialized,
  materialize,
  type RecordCodec,
} from "@varstream/shared";
import type { Kafka } from "kafkajs";

const COMMIT_ONLY = KeySet.pick({ commit: true });

/**
 * The last produced commit of every scope, from the compacted `keysets` topic (read at start, then
 * followed) plus what this instance emits. ETL uses it to tell a late event from a new one.
 */
export class ScopeCommits {
  private readonly commits = new Map<string, string>();
  private source: Materialized | undefined;

  async start(
    kafka: Kafka,
    topic: string,
    groupPrefix: string,
    logger: Logger,
    codec: RecordCodec = jsonCodec,
  ): Promise<void> {
    this.source = await materialize(kafka, {
      topic,
      groupPrefix,
      purpose: "etl.scopes",
      logger,
      onRecord: async (message) => {
        if (message.key === null) return;
        const key = message.key.toString();
        if (message.value === null) {
          const commit = headerText(message.headers, "commit");
          if (commit) this.commits.set(key, commit);
          return;
        }
        try {
          this.commits.set(key, (await codec.decode(COMMIT_ONLY, message.value, message.headers)).commit);
        } catch (err) {
          if (!(err instanceof DecodeError)) throw err;
        }
      },
    });
    await this.source.caughtUp;
  }

  get(scopeKey: string): string | undefined {
    return this.commits.get(scopeKey);
  }

  set(scopeKey: string, commit: string): void {
    this.commits.set(scopeKey, commit);
  }

  async stop(): Promise<void> {
    await this.source?.stop();
  }
}
