import type { Platform } from "@varstream/shared";

export interface Detected {
  platform: Platform;
  /** the platform's event name header value, e.g. `push` */
  eventName: string;
  deliveryId: string | undefined;
}

/**
 * The platform from its event header. Gitea is checked first because it also sends GitHub's headers.
 */
export function detectPlatform(headers: Record<string, string | undefined>): Detected | undefined {
  if (headers["x-gitea-event"]) {
    return { platform: "gitea", eventName: headers["x-gitea-event"], deliveryId: headers["x-gitea-delivery"] };
  }
  if (headers["x-gitlab-event"]) {
    return { platform: "gitlab", eventName: headers["x-gitlab-event"], deliveryId: headers["x-gitlab-event-uuid"] };
  }
  if (headers["x-github-event"]) {
    return { platform: "github", eventName: headers["x-github-event"], deliveryId: headers["x-github-delivery"] };
  }
  return undefined;
}
