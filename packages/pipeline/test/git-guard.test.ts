import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeBundle } from "@varstream/bundle";
import { createLogger } from "@varstream/shared";
import { GitRepo } from "@varstream/testkit";
import { describe, expect, it } from "vitest";
import { credentialEnv } from "../src/git/credentials.ts";
import { PermanentGitError } from "../src/git/errors.ts";
import { checkRemoteHost, isInternalAddress } from "../src/git/host-guard.ts";
import { platformCredentials } from "../src/git/platform-credentials.ts";
import { RepoCache, redactUrl } from "../src/git/repo-cache.ts";

describe("GIT_ALLOWED_HOSTS guard", () => {
  it("knows internal addresses", () => {
    for (const a of [
      "127.0.0.1",
      "10.1.2.3",
      "172.20.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "0.0.0.0",
      "::1",
      "fd00::1",
      "fe80::1",
      "::ffff:127.0.0.1",
    ]) {
      expect(isInternalAddress(a), a).toBe(true);
    }
    for (const a of ["8.8.8.8", "140.82.112.3", "2606:4700::1111"]) expect(isInternalAddress(a), a).toBe(false);
  });

  it("refuses loopback, link-local and private hosts unless listed", async () => {
    await expect(checkRemoteHost("https://127.0.0.1/acme/x.git", [])).rejects.toThrow(PermanentGitError);
    await expect(checkRemoteHost("https://localhost:8443/acme/x.git", [])).rejects.toThrow(/internal address/);
    await expect(checkRemoteHost("https://169.254.169.254/latest", [])).rejects.toThrow(/GIT_ALLOWED_HOSTS/);
    await expect(checkRemoteHost("ssh://git@[::1]/acme/x.git", [])).rejects.toThrow(/internal address ::1/);
    await expect(checkRemoteHost("https://localhost:8443/acme/x.git", ["localhost"])).resolves.toBeUndefined();
    await expect(checkRemoteHost("https://140.82.112.3/acme/x.git", [])).resolves.toBeUndefined();
  });

  it("refuses before any fetch", async () => {
    const cache = new RepoCache({
      dir: await mkdtemp(join(tmpdir(), "guard-")),
      maxEntries: 2,
      logger: createLogger("t", "silent"),
    });
    await expect(cache.prefetch("https://10.0.0.1/acme/x.git", ["a".repeat(40)])).rejects.toThrow(
      /internal address 10\.0\.0\.1/,
    );
    cache.close();
  });
});

describe("credentials", () => {
  const bundle = decodeBundle({
    bundle: {
      platforms: [
        {
          github: {
            endpoint: "https://github.example.com",
            token: { env: "VS_TEST_TOKEN" },
            insecure_skip_signature: true,
          },
        },
        {
          gitlab: {
            endpoint: "ssh://git@gitlab.example.com",
            ssh_key: "-----BEGIN KEY-----\nabc\n-----END KEY-----",
            insecure_skip_signature: true,
          },
        },
        {
          gitea: {
            endpoint: "https://gitea.example.com",
            token: { env: "VS_TEST_MISSING" },
            insecure_skip_signature: true,
          },
        },
      ],
    },
  });

  it("go through an http header and an ssh key file, never the URL or the command line", async () => {
    process.env.VS_TEST_TOKEN = "s3cr3t-token";
    const creds = platformCredentials(bundle);
    const keyDir = await mkdtemp(join(tmpdir(), "keys-"));
    const https = await credentialEnv(
      "https://github.example.com/acme/x.git",
      await creds("https://github.example.com/acme/x.git"),
      keyDir,
    );
    expect(https.GIT_CONFIG_KEY_0).toBe("http.extraHeader");
    expect(https.GIT_CONFIG_VALUE_0).toBe(
      `Authorization: Basic ${Buffer.from("x-access-token:s3cr3t-token").toString("base64")}`,
    );
    const ssh = await credentialEnv(
      "ssh://git@gitlab.example.com/acme/x.git",
      await creds("ssh://git@gitlab.example.com/acme/x.git"),
      keyDir,
    );
    const keyFile = /-i (\S+)/.exec(ssh.GIT_SSH_COMMAND ?? "")?.[1];
    expect(keyFile).toBeDefined();
    expect(await readFile(keyFile!, "utf8")).toContain("BEGIN KEY");
    expect((await stat(keyFile!)).mode & 0o777).toBe(0o600);
    expect(ssh.GIT_SSH_COMMAND).not.toContain("BEGIN KEY");
    expect(await creds("https://elsewhere.example.com/x.git")).toBeUndefined();
  });

  it("a secret that cannot be resolved fails the event instead of fetching without it", async () => {
    await expect(platformCredentials(bundle)("https://gitea.example.com/acme/x.git")).rejects.toThrow(
      /VS_TEST_MISSING is not set/,
    );
  });

  it("are stripped from URLs before they name anything", () => {
    expect(redactUrl("https://user:tok@github.com/acme/x.git")).toBe("https://github.com/acme/x.git");
  });
});

describe("a git cat-file that dies", () => {
  it("fails the reads it held, and the next read of the repository starts a new one", async () => {
    const repo = await GitRepo.create("acme/catfile");
    const dir = await mkdtemp(join(tmpdir(), "catfile-"));
    const cache = new RepoCache({ dir, maxEntries: 2, logger: createLogger("t", "silent") });
    try {
      const { after } = await repo.commit({ "a.yaml": "a: 1\n" });
      const read = () => cache.withCommits(repo.cloneUrl, [after], (r) => r.read(after, "a.yaml"));
      expect((await read())?.toString()).toBe("a: 1\n");
      const pids = execFileSync("pgrep", ["-f", `${dir}.*cat-file --batch`], { encoding: "utf8" })
        .trim()
        .split("\n");
      expect(pids).toHaveLength(1);
      process.kill(Number(pids[0]), "SIGKILL");
      await read().catch(() => undefined); // held by the dying process, or already answered by a new one
      expect((await read())?.toString()).toBe("a: 1\n");
    } finally {
      cache.close();
      await repo.cleanup();
    }
  });
});
