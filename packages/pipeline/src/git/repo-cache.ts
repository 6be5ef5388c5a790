import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { type FileChange, type Logger, metrics } from "@varstream/shared";
import { simpleGit } from "simple-git";
import { CatFileBatch } from "./cat-file.ts";
import { credentialEnv, type GitCredentials } from "./credentials.ts";
import { PermanentGitError, TransientGitError } from "./errors.ts";
import { checkRemoteHost } from "./host-guard.ts";

/** What a caller may do with a repository while holding its lock. */
export interface RepoReader {
  /** the blob at `<commit>:<path>`, or null when absent */
  read(commit: string, path: string): Promise<Buffer | null>;
  /** the changed files of `head` against its merge base with `base` */
  changes(base: string, head: string): Promise<FileChange[]>;
  /** every file at `commit` */
  files(commit: string): Promise<string[]>;
  /** `ancestor` is an ancestor of (or equal to) `commit`; false when either is unknown */
  isAncestor(ancestor: string, commit: string): Promise<boolean>;
  /** `commit` is on `branch` of the remote (its tip or an ancestor of it), asking the remote when the cache says no */
  onBranch(commit: string, branch: string): Promise<boolean>;
  /** fetches every branch and tag of the remote as it is now (the cache's may be older) */
  refreshHeads(): Promise<void>;
}

interface Entry {
  dir: string;
  url: string;
  catFile: CatFileBatch | undefined;
  /** per branch: the commits seen walking down from its tip, and where the walk stopped */
  walks?: Map<string, { tip: Buffer; seen: Set<string>; queue: string[] }>;
  /** tail of this repository's lock chain */
  lock: Promise<unknown>;
  users: number;
}

export interface RepoCacheOptions {
  dir: string;
  maxEntries: number;
  logger: Logger;
  /** hosts that may resolve to internal addresses (GIT_ALLOWED_HOSTS) */
  allowedHosts?: readonly string[];
  /** credentials for a remote, resolved at use */
  credentialsFor?: (url: string) => Promise<GitCredentials | undefined>;
  /** seconds a fetch may take before it counts as a transient failure */
  fetchTimeoutMs?: number;
}

const execFileAsync = promisify(execFile);

/** Strips credentials from a URL: they never reach cache keys, paths or logs. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, "$1");
}

/** Every branch and tag of the remote, mirrored (a branch deleted there is deleted here). */
const HEADS_AND_TAGS = [
  "fetch",
  "--quiet",
  "--prune",
  "origin",
  "+refs/heads/*:refs/heads/*",
  "+refs/tags/*:refs/tags/*",
];

const NOT_FOUND = /not our ref|couldn't find remote ref|unadvertised object|no such remote ref|bad object/i;

/**
 * Bare repositories under GIT_CACHE_DIR, one per clone URL, kept for at most `maxEntries` repositories
 * (least recently used leave first). Each repository has its own lock: events of different
 * repositories never wait on each other.
 */
export class RepoCache {
  private readonly entries = new Map<string, Entry>();
  private readonly options: RepoCacheOptions;

  constructor(options: RepoCacheOptions) {
    this.options = options;
  }

  /** Fetches what is missing of `commits` in one go, ahead of the events that read them. */
  async prefetch(url: string, commits: string[]): Promise<void> {
    await this.withCommits(url, commits, async () => undefined);
  }

  /** Fetches a branch (always: it is asked for because it may have moved) and returns its commit. */
  async fetchBranch(url: string, branch: string): Promise<string> {
    const entry = this.entry(url);
    entry.users += 1;
    const run = entry.lock.then(async () => {
      await this.ensureCommits(entry, [], []);
      await checkRemoteHost(entry.url, this.options.allowedHosts ?? []);
      const remote = this.git(
        entry,
        await credentialEnv(entry.url, await this.options.credentialsFor?.(entry.url), join(this.options.dir, ".keys")),
      );
      try {
        await remote.raw(["fetch", "--quiet", "origin", `+refs/heads/${branch}:refs/heads/${branch}`]);
      } catch (err) {
        throw new TransientGitError(
          `git fetch of ${branch} from ${redactUrl(url)} failed: ${firstLine((err as Error).message)}`,
        );
      }
      return (await this.git(entry).raw(["rev-parse", `refs/heads/${branch}`])).trim();
    });
    entry.lock = run.catch(() => undefined);
    try {
      return await run;
    } finally {
      entry.users -= 1;
    }
  }

  /**
   * Runs `fn` holding the repository's lock, with the repository present and its commits fetched.
   * `refs` (e.g. `refs/pull/7/head`) are fetched too when a commit is not on a branch or tag.
   */
  async withCommits<T>(
    url: string,
    commits: string[],
    fn: (repo: RepoReader) => Promise<T>,
    refs: string[] = [],
  ): Promise<T> {
    const entry = this.entry(url);
    entry.users += 1;
    const run = entry.lock.then(async () => {
      await this.ensureCommits(entry, commits, refs);
      const catFile = this.catFile(entry);
      return fn({
        read: (commit, path) => catFile.blob(commit, path),
        changes: (base, head) => this.diff(entry, base, head),
        isAncestor: (ancestor, commit) => this.isAncestor(entry, ancestor, commit),
        onBranch: async (commit, branch) => {
          if (await this.onBranch(entry, commit, branch)) return true;
          await this.fetchHeads(entry); // the cached branch may be older than the push
          return this.onBranch(entry, commit, branch);
        },
        refreshHeads: () => this.fetchHeads(entry),
        files: async (commit) =>
          (await this.git(entry).raw(["ls-tree", "-r", "-z", "--name-only", commit]))
            .split("\0")
            .filter((f) => f !== ""),
      });
    });
    entry.lock = run.catch(() => undefined);
    try {
      return await run;
    } finally {
      entry.users -= 1;
      this.evict().catch((err) => this.options.logger.warn({ err }, "git cache eviction failed"));
    }
  }

  private entry(url: string): Entry {
    const key = createHash("sha256").update(redactUrl(url)).digest("hex").slice(0, 24);
    let entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key); // re-insert: Map order is the LRU order
    } else {
      entry = { dir: join(this.options.dir, `${key}.git`), url, catFile: undefined, lock: Promise.resolve(), users: 0 };
    }
    this.entries.set(key, entry);
    return entry;
  }

  private catFile(entry: Entry): CatFileBatch {
    // A cat-file that died failed the reads it held (their events are retried); the next read gets a new one.
    if (entry.catFile?.dead) {
      entry.catFile.close();
      entry.catFile = undefined;
    }
    entry.catFile ??= new CatFileBatch(entry.dir);
    return entry.catFile;
  }

  private git(entry: Entry, extraEnv: Record<string, string> = {}) {
    // A minimal environment: git never prompts, and no inherited EDITOR/PAGER/ASKPASS runs.
    return simpleGit({ baseDir: entry.dir, timeout: { block: this.options.fetchTimeoutMs ?? 60_000 } }).env({
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/tmp",
      GIT_TERMINAL_PROMPT: "0",
      ...extraEnv,
    });
  }

  /**
   * `ancestor` is an ancestor of `commit`. The usual question is whether a new event's commit is older
   * than the scope's last one, and the usual answer is no because the last commit is among the event's
   * first few parents: walking those through cat-file costs microseconds. Otherwise git answers.
   */
  private async isAncestor(entry: Entry, ancestor: string, commit: string): Promise<boolean> {
    const catFile = this.catFile(entry);
    const queue = [ancestor];
    const seen = new Set<string>();
    while (queue.length > 0 && seen.size < 64) {
      const sha = queue.shift()!;
      if (seen.has(sha)) continue;
      seen.add(sha);
      if (sha === commit) return ancestor === commit;
      const object = await catFile.object(sha);
      if (object?.type !== "commit") break;
      for (const line of object.content.toString("utf8").split("\n")) {
        if (line === "") break;
        if (line.startsWith("parent ")) queue.push(line.slice(7));
      }
    }
    // The exit code is the answer (0 yes, 1 no), which simple-git does not expose.
    return execFileAsync("git", ["--git-dir", entry.dir, "merge-base", "--is-ancestor", ancestor, commit]).then(
      () => true,
      () => false,
    );
  }

  /** Files changed between the merge base of `base` and `head`, and `head` (renames detected). */
  private async diff(entry: Entry, base: string, head: string): Promise<FileChange[]> {
    let out: string;
    try {
      out = await this.git(entry).raw(["diff", "--name-status", "-M", "-z", `${base}...${head}`]);
    } catch (err) {
      throw new PermanentGitError(`cannot diff ${base}...${head}: ${firstLine((err as Error).message)}`);
    }
    const fields = out.split("\0").filter((f) => f !== "");
    const changes: FileChange[] = [];
    for (let i = 0; i < fields.length; ) {
      const status = fields[i++]!;
      if (status.startsWith("R")) {
        const oldPath = fields[i++]!;
        changes.push({ path: fields[i++]!, status: "renamed", old_path: oldPath });
      } else {
        const path = fields[i++]!;
        changes.push({ path, status: status === "A" ? "added" : status === "D" ? "removed" : "modified" });
      }
    }
    return changes;
  }

  private async ensureCommits(entry: Entry, commits: string[], refs: string[]): Promise<void> {
    await mkdir(entry.dir, { recursive: true });
    const git = this.git(entry);
    if (entry.catFile === undefined) {
      await git.raw(["init", "--bare", "--quiet"]);
      await git.raw(["config", "remote.origin.url", entry.url]);
    }
    const missing = await this.missing(entry, commits);
    if (missing.length === 0) {
      metrics.gitCache.inc({ result: "hit" }, commits.length);
      return;
    }
    await checkRemoteHost(entry.url, this.options.allowedHosts ?? []);
    const remote = this.git(
      entry,
      await credentialEnv(entry.url, await this.options.credentialsFor?.(entry.url), join(this.options.dir, ".keys")),
    );
    metrics.gitCache.inc({ result: "fetch" }, missing.length);
    metrics.gitCache.inc({ result: "hit" }, commits.length - missing.length);
    const timer = metrics.gitFetch.startTimer();
    // Branches and tags first: one fetch brings every commit pushed so far, so the events queued
    // behind this one find their commits already here. Then the named commits (PR heads, commits no
    // longer on a branch) for servers that allow fetching them.
    let headsError: Error | undefined;
    let commitError: Error | undefined;
    try {
      // With the platform's credentials, as the commit fetch below: a private repository's branches too.
      await remote.raw(HEADS_AND_TAGS);
    } catch (err) {
      headsError = err as Error;
    }
    let left = await this.missing(entry, missing);
    if (left.length > 0) {
      try {
        await remote.raw(["fetch", "--quiet", "--no-tags", "origin", ...refs.map((r) => `+${r}:${r}`), ...left]);
      } catch (err) {
        commitError = err as Error;
      }
      left = await this.missing(entry, left);
    }
    timer();
    if (left.length === 0) return;
    const repo = redactUrl(entry.url);
    // The repository answered and does not have the commit: retrying will not help.
    if (headsError === undefined && (commitError === undefined || NOT_FOUND.test(commitError.message))) {
      throw new PermanentGitError(`commit ${left.join(", ")} not found in ${repo}`);
    }
    const reason = firstLine((headsError ?? commitError)?.message ?? "unknown error");
    throw new TransientGitError(`git fetch from ${repo} failed: ${redactUrl(reason)}`);
  }

  /**
   * `commit` is the tip of `branch` or behind it. Answered through cat-file: a walk down from the
   * branch's tip, kept per branch and resumed by the next question, so a backlog of pushes to one
   * branch costs one walk of its history, not one per event. A new tip (a push, a force-push) starts
   * a new walk. Past 100,000 commits git answers.
   */
  private async onBranch(entry: Entry, commit: string, branch: string): Promise<boolean> {
    const catFile = this.catFile(entry);
    const ref = `refs/heads/${branch}`;
    const [tip, target] = await Promise.all([catFile.object(ref), catFile.object(commit)]);
    if (tip?.type !== "commit" || target?.type !== "commit") return false;
    if (tip.content.equals(target.content)) return true; // same object: the tip itself
    entry.walks ??= new Map();
    let walk = entry.walks.get(branch);
    if (!walk?.tip.equals(tip.content)) {
      walk = { tip: tip.content, seen: new Set(), queue: parentsOf(tip.content) };
      entry.walks.set(branch, walk);
    }
    if (walk.seen.has(commit)) return true;
    while (walk.queue.length > 0 && walk.seen.size < 100_000) {
      const sha = walk.queue.pop()!;
      if (walk.seen.has(sha)) continue;
      walk.seen.add(sha);
      const object = await catFile.object(sha);
      if (object?.type === "commit") walk.queue.push(...parentsOf(object.content));
      if (sha === commit) return true;
    }
    if (walk.queue.length === 0) return false; // the whole history walked: not on the branch
    return this.isAncestor(entry, commit, ref);
  }

  /** Every branch and tag of the remote, as it is now. */
  private async fetchHeads(entry: Entry): Promise<void> {
    await checkRemoteHost(entry.url, this.options.allowedHosts ?? []);
    const remote = this.git(
      entry,
      await credentialEnv(entry.url, await this.options.credentialsFor?.(entry.url), join(this.options.dir, ".keys")),
    );
    try {
      await remote.raw(HEADS_AND_TAGS);
    } catch (err) {
      const reason = firstLine((err as Error).message ?? "unknown error");
      throw new TransientGitError(`git fetch from ${redactUrl(entry.url)} failed: ${redactUrl(reason)}`);
    }
  }

  private async missing(entry: Entry, commits: string[]): Promise<string[]> {
    const catFile = this.catFile(entry);
    const found = await Promise.all(commits.map((c) => catFile.object(`${c}^{commit}`)));
    return commits.filter((_, i) => found[i] === null);
  }

  private async evict(): Promise<void> {
    while (this.entries.size > this.options.maxEntries) {
      const victim = [...this.entries].find(([, e]) => e.users === 0);
      if (!victim) return;
      const [key, entry] = victim;
      this.entries.delete(key);
      entry.catFile?.close();
      // Renamed first, so a new entry for the same repository starts in a clean folder at once.
      const trash = `${entry.dir}.evicted-${Date.now()}-${Math.random().toString(36).slice(2)}`;
      await rename(entry.dir, trash).catch(() => undefined);
      await rm(trash, { recursive: true, force: true });
      this.options.logger.debug({ repo: redactUrl(entry.url) }, "git cache evicted repository");
    }
  }

  close(): void {
    for (const entry of this.entries.values()) entry.catFile?.close();
  }
}

function firstLine(text: string): string {
  return text.split("\n").find((l) => l.trim() !== "") ?? text;
}

/** The parent shas of a commit object. */
function parentsOf(content: Buffer): string[] {
  const parents: string[] = [];
  for (const line of content.toString("utf8").split("\n")) {
    if (line === "") break;
    if (line.startsWith("parent ")) parents.push(line.slice(7));
  }
  return parents;
}
