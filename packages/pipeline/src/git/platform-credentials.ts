import type { Bundle } from "@varstream/bundle";
import { PLATFORMS } from "@varstream/platforms";
import { type SecretRef, Secrets } from "@varstream/shared";
import { cloneUrlAllowed } from "../routing/clone-url.ts";
import type { GitCredentials } from "./credentials.ts";
import { PermanentGitError } from "./errors.ts";

/**
 * Credentials for a clone URL from the platform it belongs to, resolved at use. A secret that cannot
 * be resolved fails the event; a placeholder is never sent.
 */
export function platformCredentials(
  bundle: Bundle,
  secrets = new Secrets(bundle.secretManagers ? { managers: bundle.secretManagers } : {}),
): (url: string) => Promise<GitCredentials | undefined> {
  return async (url) => {
    const platform = [...bundle.platforms.values()].find((p) => cloneUrlAllowed(p, url));
    if (!platform) return undefined;
    const { token, password, username, ssh_key } = platform.config;
    const resolve = async (ref: SecretRef | undefined, field: string) => {
      if (ref === undefined) return undefined;
      try {
        return await secrets.resolve(ref);
      } catch (err) {
        throw new PermanentGitError(`platform ${platform.name} ${field}: ${(err as Error).message}`);
      }
    };
    const secret = (await resolve(token, "token")) ?? (await resolve(password, "password"));
    const key = await resolve(ssh_key, "ssh_key");
    if (secret === undefined && key === undefined) return undefined;
    return {
      username: (await resolve(username, "username")) ?? PLATFORMS[platform.kind].tokenUsername,
      ...(secret === undefined ? {} : { token: secret }),
      ...(key === undefined ? {} : { sshKey: key }),
    };
  };
}
