import type { Bundle, PlatformEntry } from "@varstream/bundle";
import type { WebhookEvent } from "@varstream/shared";

function parse(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

/** A URL's path, percent-decoded, without trailing slashes; undefined when it walks up (`..`) or is malformed. */
function cleanPath(url: URL): string | undefined {
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    return undefined;
  }
  if (path.split("/").some((s) => s === ".." || s === ".")) return undefined;
  return path.replace(/\/+$/, "");
}

/**
 * A payload may not point varstream at another host, at another part of the host, or at the server's
 * own disk: the clone URL must have the scheme and host of the platform's endpoint and lie under its path.
 */
export function cloneUrlAllowed(platform: PlatformEntry, cloneUrl: string): boolean {
  // Only a URL exactly as the URL standard writes it: git reads `\`, spaces and other oddities its own
  // way (`https://host\@other/` is a user name to git, a path to Node), so a URL git and this check
  // would read differently is refused.
  if (/[\\\s\p{Cc}]/u.test(cloneUrl)) return false;
  const endpoint = parse(platform.config.endpoint);
  const url = parse(cloneUrl);
  if (!endpoint || !url || url.href !== cloneUrl) return false;
  if (url.protocol !== endpoint.protocol || url.host !== endpoint.host) return false;
  // No credentials, query or fragment smuggled in (ssh's user must be the endpoint's).
  if (url.password !== "" || url.search !== "" || url.hash !== "" || url.username !== endpoint.username) return false;
  const root = cleanPath(endpoint);
  const path = cleanPath(url);
  if (root === undefined || path === undefined) return false;
  return root === "" ? path !== "" : path.startsWith(`${root}/`);
}

/**
 * The clone URL is the repository the payload names, on this platform: the endpoint + `/<full_name>`
 * (`.git` optional; an endpoint's own path may be the name's first segments). A signed payload of one
 * repository cannot make varstream read another.
 */
export function cloneUrlOfRepository(platform: PlatformEntry, cloneUrl: string, fullName: string): boolean {
  if (!cloneUrlAllowed(platform, cloneUrl)) return false;
  const url = parse(cloneUrl);
  const path = url && cleanPath(url);
  // owner/name (GitLab: group/sub/name), each part a plain name
  if (path === undefined || !/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)+$/.test(fullName)) return false;
  if (fullName.split("/").some((s) => s === "." || s === "..")) return false;
  const repoPath = path.replace(/\.git$/, "");
  if (!repoPath.endsWith(`/${fullName}`)) return false;
  // What stands before `/<full_name>` is the endpoint's path, or a part of it the name repeats
  // (endpoint https://github.com/acme, repository acme/app).
  const before = repoPath.slice(0, -(fullName.length + 1));
  const root = cleanPath(new URL(platform.config.endpoint)) ?? "";
  return before === root || root.startsWith(`${before}/`);
}

/**
 * The event's clone URL belongs to the platform entry that verified it (`platform_name`), or for an
 * event from before entries were recorded, to a configured platform of its kind.
 */
export function cloneUrlAllowedForEvent(bundle: Bundle, event: WebhookEvent): boolean {
  const entries =
    event.platform_name !== undefined
      ? [bundle.platforms.get(event.platform_name)].filter((p) => p !== undefined && p.kind === event.platform)
      : [...bundle.platforms.values()].filter((p) => p.kind === event.platform);
  return entries.some((p) => cloneUrlOfRepository(p!, event.repo.clone_url, event.repo.full_name));
}
