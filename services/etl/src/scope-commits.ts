import {
  DecodeError,
  headerText,
  headerVersion,
  jsonCodec,
  KeySet,
  type Logger,
  type Materialized,
  materialize,
  type RecordCodec,
} from "@varstream/shared";
import type { Kafka } from "kafkajs";

const COMMIT_ONLY = KeySet.pick({ commit: true, version: true });

/**
 * The last produced commit and version of every scope, from the compacted `keysets` topic (read at
 * start, then followed) plus what this instance emits. ETL uses it to tell a late event from a new one,
 * and to keep a scope's versions increasing.
 */
export class ScopeCommits {
  private readonly commits = new Map<string, string>();
  private readonly versions = new Map<string, number>();
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
          if (commit) this.set(key, commit, headerVersion(message.headers));
          return;
        }
        try {
          const { commit, version } = await codec.decode(COMMIT_ONLY, message.value, message.headers);
          this.set(key, commit, version);
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

  /** the scope's last version, 0 when none is known */
  version(scopeKey: string): number {
    return this.versions.get(scopeKey) ?? 0;
  }

  /**
   * Records a scope's commit, unless a record of a higher version already holds it: a resync that
   * re-emitted an older state after a push (the sinks refused it) must not make that push's commit look
   * unsent, or a parked retry of a commit between the two would pass the ancestor check. Records without
   * a version (written before versions) follow the topic's order.
   */
  set(scopeKey: string, commit: string, version?: number): void {
    if (version !== undefined && version < this.version(scopeKey)) return;
    this.commits.set(scopeKey, commit);
    if (version !== undefined) this.versions.set(scopeKey, version);
  }

  async stop(): Promise<void> {
    await this.source?.stop();
  }
}
