import type { WebhookEvent } from "@varstream/shared";

/** What a platform adapter derives from a payload; ingest adds task id, delivery, source and times. */
export type NormalizedPayload = Pick<
  WebhookEvent,
  "platform" | "event" | "repo" | "ref" | "branch" | "tag" | "pr" | "before" | "after" | "changes"
>;

export type Normalization = { kind: "event"; payload: NormalizedPayload } | { kind: "ignored"; reason: string };

export const ZERO_SHA = /^0+$/;
