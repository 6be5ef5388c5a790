import { z } from "zod";
import type { Delivery, Headers } from "./adapter.ts";
import { gitea } from "./gitea/adapter.ts";
import { github } from "./github/adapter.ts";
import { gitlab } from "./gitlab/adapter.ts";

/**
 * Every platform varstream takes webhooks from, in the order they are detected (Gitea also sends
 * GitHub's headers, so it comes first). The bundle's platform kinds and the event contract's
 * `platform` are derived from this list.
 */
export const PLATFORMS = { gitea, gitlab, github } as const;

export type Platform = keyof typeof PLATFORMS;
export const PLATFORM_KINDS = Object.keys(PLATFORMS) as [Platform, ...Platform[]];
export const Platform = z.enum(PLATFORM_KINDS);

/** The platform whose event header a request carries, with its event name and delivery id. */
export function detectPlatform(headers: Headers): (Delivery & { platform: Platform }) | undefined {
  for (const adapter of Object.values(PLATFORMS)) {
    const delivery = adapter.detect(headers);
    if (delivery) return { platform: adapter.kind, ...delivery };
  }
  return undefined;
}

/** The event headers a request needs, for error messages: `X-Gitea-Event, X-Gitlab-Event or X-GitHub-Event`. */
export function eventHeaders(): string {
  const names = Object.values(PLATFORMS).map((a) => a.eventHeader);
  return `${names.slice(0, -1).join(", ")} or ${names.at(-1)}`;
}
