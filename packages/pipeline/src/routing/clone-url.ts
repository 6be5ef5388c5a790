import type { PlatformEntry } from "@varstream/bundle";

/**
 * A payload may not point varstream at another host or at the server's own disk: the clone
 * URL must have the scheme and host of the platform's endpoint, or for a `file://` endpoint lie under it.
 */
export function cloneUrlAllowed(platform: PlatformEntry, cloneUrl: string): boolean {
  let endpoint: URL;
  let url: URL;
  try {
    endpoint = new URL(platform.config.endpoint);
    url = new URL(cloneUrl);
  } catch {
    return false;
  }
  if (endpoint.protocol === "file:") {
    if (url.protocol !== "file:" || url.host !== endpoint.host) return false;
    const root = decodeURIComponent(endpoint.pathname).replace(/\/+$/, "");
    const path = decodeURIComponent(url.pathname);
    return !path.split("/").includes("..") && path.startsWith(`${root}/`);
  }
  return url.protocol === endpoint.protocol && url.host === endpoint.host;
}
