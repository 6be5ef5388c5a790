import { headerText, KeySet, type Logger, type Materialized, materialize } from "@varstream/shared";
import type { Kafka } from "kafkajs";

/**
 * The last produced commit of every scope, from the compacted `keysets` topic (read at start, then
 * followed) plus what this instance emits. ETL uses it to tell a late event from a new one.
 */
export class ScopeCommits {
  private readonly commits = new Map<string, string>();
  private source: Materialized | undefined;

  async start(kafka: Kafka, topic: string, groupPrefix: string, logger: Logger): Promise<void> {
    this.source = await materialize(kafka, {
      topic,
      groupPrefix,
      purpose: "etl.scopes",
      logger,
      onRecord: (message) => {
        if (message.key === null) return;
        const key = message.key.toString();
        if (message.value === null) {
          const commit = headerText(message.headers, "commit");
          if (commit) this.commits.set(key, commit);
          return;
        }
        const parsed = KeySet.pick({ commit: true }).safeParse(JSON.parse(message.value.toString("utf8")));
        if (parsed.success) this.commits.set(key, parsed.data.commit);
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
