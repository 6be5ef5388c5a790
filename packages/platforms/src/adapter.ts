/** Request headers, lower-cased names. */
export type Headers = Record<string, string | undefined>;

export interface FileChange {
  path: string;
  status: "added" | "modified" | "removed" | "renamed";
  old_path?: string;
}

/** What an adapter derives from a payload; ingest adds task id, delivery, datasource, source and times. */
export interface NormalizedPayload {
  platform: string;
  /** the bundle entry that verified the delivery (set by ingest, not by adapters) */
  platform_name?: string;
  event: "push" | "pull_request" | "tag";
  repo: { full_name: string; clone_url: string };
  ref: string;
  branch?: string;
  tag?: string;
  /** a pull/merge request: ETL computes its changed files as the diff of base_ref (or before) and head */
  pr?: { number: number; action: string; head_sha: string; base_ref?: string };
  before: string;
  after: string;
  changes: FileChange[];
}

export type Normalization = { kind: "event"; payload: NormalizedPayload } | { kind: "ignored"; reason: string };

/** The platform's own name of an event, and the delivery id it gave it. */
export interface Delivery {
  eventName: string;
  deliveryId: string | undefined;
}

/**
 * Everything varstream knows about one git host, in one place: how its webhooks are recognised,
 * verified, signed (by the CLI, the tests and the benchmarks) and normalized, and what git expects
 * with its tokens.
 */
export interface PlatformAdapter<K extends string = string> {
  readonly kind: K;
  /** the headers that name this platform's event, for error messages */
  readonly eventHeader: string;
  /** its event names for a branch push and a pull (merge) request */
  readonly events: { push: string; pullRequest: string };
  /** the username to send with a token over https when the bundle names none */
  readonly tokenUsername: string;
  /** this platform's event name and delivery id, when the headers are its */
  detect(headers: Headers): Delivery | undefined;
  /** whether the request carries a valid signature (or token) for `secret`; constant-time */
  verify(secret: string, body: Buffer, headers: Headers): boolean;
  /** the headers this platform sends with a delivery: event, delivery id and, given a secret, its signature */
  sign(body: Buffer | string, delivery: Delivery, secret?: string): Record<string, string>;
  /** the normalized event of a payload, or why it changes no config; throws PlatformError when refused */
  normalize(eventName: string, body: unknown): Normalization;
}
