import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { PermanentGitError, TransientGitError } from "./errors.ts";

/** Loopback, link-local, private, unique-local, unspecified and multicast ranges. */
const internal = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
  ["224.0.0.0", 4],
] as const) {
  internal.addSubnet(net, prefix, "ipv4");
}
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  internal.addSubnet(net, prefix, "ipv6");
}

export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return internal.check(mapped[1]!, "ipv4");
  return internal.check(address, family === 6 ? "ipv6" : "ipv4");
}

/**
 * Refuses a remote whose host resolves to a loopback, link-local or private address unless the host
 * is listed in GIT_ALLOWED_HOSTS: a webhook must not turn varstream into a probe of its
 * own network. `file://` remotes are guarded by the platform endpoint check instead.
 */
export async function checkRemoteHost(url: string, allowed: readonly string[]): Promise<void> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PermanentGitError("clone url is not a URL");
  }
  if (parsed.protocol === "file:") return;
  const host = parsed.hostname.replace(/^\[|\]$/g, "");
  if (allowed.includes(host) || allowed.includes(parsed.host)) return;
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await lookup(host, { all: true })).map((a) => a.address);
    } catch (err) {
      throw new TransientGitError(`cannot resolve ${host}: ${(err as Error).message}`);
    }
  }
  const bad = addresses.find(isInternalAddress);
  if (bad !== undefined) {
    throw new PermanentGitError(
      `repository host ${host} resolves to the internal address ${bad}; list it in GIT_ALLOWED_HOSTS to allow it`,
    );
  }
}
