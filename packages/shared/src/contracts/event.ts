import { Platform } from "@varstream/platforms";
import { z } from "zod";

export { Platform };

/** Where an event entered varstream. */
export const EventSource = z.enum(["http", "grpc", "resync", "replay", "cli"]);

export const FileChange = z.object({
  path: z.string().min(1),
  status: z.enum(["added", "modified", "removed", "renamed"]),
  old_path: z.string().min(1).optional(),
});
export type FileChange = z.infer<typeof FileChange>;

/** The normalized webhook event published to the `webhooks` topic. */
export const WebhookEvent = z.object({
  task_id: z.string().min(1),
  delivery_id: z.string(),
  source: EventSource,
  platform: Platform,
  /** the bundle's platform entry whose secret verified the delivery: rules and clone URLs are matched against it */
  platform_name: z.string().min(1).optional(),
  datasource: z.string().min(1),
  event: z.enum(["push", "pull_request", "tag"]),
  repo: z.object({ full_name: z.string().min(1), clone_url: z.string().min(1) }),
  ref: z.string(),
  branch: z.string().optional(),
  tag: z.string().optional(),
  /** a pull/merge request: ETL computes its changed files as the diff of base_ref (or before) and head */
  pr: z
    .object({
      number: z.number().int().positive(),
      action: z.string(),
      head_sha: z.string(),
      base_ref: z.string().optional(),
    })
    .optional(),
  before: z.string(),
  after: z.string(),
  changes: z.array(FileChange),
  received_at: z.string(),
  dry_run: z.boolean(),
  reason: z.string().optional(),
});
export type WebhookEvent = z.infer<typeof WebhookEvent>;

/** Records of one repository share a key, so they stay ordered on one partition. */
export function webhookKey(event: Pick<WebhookEvent, "platform" | "repo">): string {
  return `${event.platform}/${event.repo.full_name}`;
}

/** A request to re-emit the desired key sets of a datasource in `repair` mode. */
export const ResyncEvent = z.object({
  kind: z.literal("resync"),
  task_id: z.string().min(1),
  source: EventSource,
  datasource: z.string().min(1),
  filters: z.object({
    env: z.string().optional(),
    platform: z.string().optional(),
    tenant: z.string().optional(),
  }),
  reason: z.string().optional(),
  /** who asked: the control-plane token's name (`anonymous` on an open control plane) */
  requested_by: z.string().optional(),
  /** re-read every scope's file from Git at its branch tip first, instead of re-emitting the stored key set */
  refetch: z.boolean().default(false),
  received_at: z.string(),
});
export type ResyncEvent = z.infer<typeof ResyncEvent>;

/**
 * The `reason` of the resyncs ingest schedules: `self-heal` every `reconcile_interval` (repair), and
 * `refetch` every `refetch_interval` (the files read again at their branch tips; only scopes whose
 * commit moved are emitted). The ETL drops one that closely follows another of its kind.
 */
export const SCHEDULED_RESYNC = { selfHeal: "self-heal", refetch: "refetch" } as const;

/** What the `webhooks` topic carries: normalized webhooks and resync requests. */
export const PipelineEvent = z.union([ResyncEvent, WebhookEvent]);
export type PipelineEvent = z.infer<typeof PipelineEvent>;

export function isResync(event: PipelineEvent): event is ResyncEvent {
  return "kind" in event && event.kind === "resync";
}

/** The `webhooks` record key: one repository's events (or one datasource's resyncs) stay ordered. */
export function eventKey(event: PipelineEvent): string {
  return isResync(event) ? `resync/${event.datasource}` : webhookKey(event);
}
