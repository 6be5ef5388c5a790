import { createHash } from "node:crypto";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** Credentials for one remote, resolved from the bundle's platform. */
export interface GitCredentials {
  username?: string;
  /** a token or password for https */
  token?: string;
  /** an ssh private key (its text) */
  sshKey?: string;
}

/**
 * The environment that gives git its credentials without putting them in the URL, the command line,
 * a cache path or a log: an `http.extraHeader` through GIT_CONFIG_* variables, and an ssh key file
 * (mode 0600, named by a hash) through GIT_SSH_COMMAND.
 */
export async function credentialEnv(
  url: string,
  credentials: GitCredentials | undefined,
  keyDir: string,
): Promise<Record<string, string>> {
  if (!credentials) return {};
  const env: Record<string, string> = {};
  const protocol = /^([a-z+]+):/i.exec(url)?.[1]?.toLowerCase();
  if ((protocol === "https" || protocol === "http") && credentials.token !== undefined) {
    const basic = Buffer.from(`${credentials.username ?? "git"}:${credentials.token}`).toString("base64");
    env.GIT_CONFIG_COUNT = "1";
    env.GIT_CONFIG_KEY_0 = "http.extraHeader";
    env.GIT_CONFIG_VALUE_0 = `Authorization: Basic ${basic}`;
  }
  if (protocol === "ssh" && credentials.sshKey !== undefined) {
    await mkdir(keyDir, { recursive: true, mode: 0o700 });
    const file = join(keyDir, createHash("sha256").update(credentials.sshKey).digest("hex").slice(0, 16));
    const text = credentials.sshKey.endsWith("\n") ? credentials.sshKey : `${credentials.sshKey}\n`;
    await writeFile(file, text, { mode: 0o600 });
    await chmod(file, 0o600);
    env.GIT_SSH_COMMAND = [
      "ssh",
      `-i ${file}`,
      "-o IdentitiesOnly=yes",
      "-o BatchMode=yes",
      "-o StrictHostKeyChecking=accept-new",
      `-o UserKnownHostsFile=${join(keyDir, "known_hosts")}`,
    ].join(" ");
  }
  return env;
}
