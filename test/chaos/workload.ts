import { rename } from "node:fs/promises";
import { GitRepo } from "@varstream/testkit";

/**
 * The chaos workload: R repositories of F YAML files sharing K keys. Every round each repository gets
 * one commit that writes every present key with the round number as its value, moves some keys to
 * another file (two files of one destination), deletes some and brings some back; a file left with no
 * key is deleted. Sometimes the commit is a force-push: the previous commit is dropped from the branch
 * and the new one is made on its parent. Values only grow, so a key whose observed value goes down is a
 * regression, and the desired state of a repository is simply its current key → round map.
 */
export class Workload {
  readonly repos: ChaosRepo[] = [];
  round = 0;
  private readonly random: () => number;

  private constructor(random: () => number) {
    this.random = random;
  }

  static async create(owner: string, repos: number, files: number, keys: number, seed: number): Promise<Workload> {
    const w = new Workload(mulberry32(seed));
    let root: string | undefined;
    for (let r = 0; r < repos; r++) {
      const git = await GitRepo.create(`${owner}/r${r}`, root);
      root = git.root;
      w.repos.push(new ChaosRepo(git, files, keys));
    }
    return w;
  }

  get root(): string {
    return this.repos[0]!.git.root;
  }

  /** One commit per repository (made locally; the webhook is the caller's). */
  async commitAll(): Promise<
    { repo: ChaosRepo; before: string; after: string; changed: string[]; removed: string[] }[]
  > {
    this.round += 1;
    const out = [];
    for (const repo of this.repos) out.push({ repo, ...(await repo.next(this.round, this.random)) });
    return out;
  }

  /** Makes every repository unreachable (the git host is away) until the returned function is called. */
  async takeAway(): Promise<() => Promise<void>> {
    const away = `${this.root}.away`;
    await rename(this.root, away);
    return () => rename(away, this.root);
  }

  async cleanup(): Promise<void> {
    await this.repos[0]?.git.cleanup();
  }
}

export class ChaosRepo {
  readonly git: GitRepo;
  /** key → the file holding it (absent: deleted) */
  private readonly placement = new Map<string, number>();
  /** what the branch holds now: key → round */
  desired: Record<string, string> = {};
  private readonly files: number;
  private readonly keys: string[];
  private present = new Set<number>();

  constructor(git: GitRepo, files: number, keys: number) {
    this.git = git;
    this.files = files;
    this.keys = Array.from({ length: keys }, (_, k) => `k${k}`);
    for (const [k, key] of this.keys.entries()) this.placement.set(key, k % files);
  }

  get fullName(): string {
    return this.git.fullName;
  }

  async next(
    round: number,
    random: () => number,
  ): Promise<{ before: string; after: string; changed: string[]; removed: string[] }> {
    const forced = round > 2 && random() < 0.15;
    for (const key of this.keys) {
      const roll = random();
      if (!this.placement.has(key)) {
        if (roll < 0.4) this.placement.set(key, Math.floor(random() * this.files)); // deleted keys come back
      } else if (roll < 0.2)
        this.placement.set(key, Math.floor(random() * this.files)); // moved
      else if (roll < 0.28) this.placement.delete(key); // deleted
    }
    if (this.placement.size === 0) this.placement.set(this.keys[0]!, 0); // a commit always changes something
    const contents: Record<string, string | null> = {};
    const byFile = new Map<number, string[]>();
    for (const [key, file] of this.placement) byFile.set(file, [...(byFile.get(file) ?? []), key]);
    const nowPresent = new Set<number>();
    for (let f = 0; f < this.files; f++) {
      const keys = (byFile.get(f) ?? []).sort();
      if (keys.length > 0) {
        contents[`f${f}.yaml`] = keys.map((k) => `${k}: ${round}\n`).join("");
        nowPresent.add(f);
      } else if (this.present.has(f)) contents[`f${f}.yaml`] = null;
    }
    const before = this.git.headSha;
    if (forced) {
      // Drop the last commit from the branch; the webhook's before is still the dropped tip.
      await this.git.handle.raw(["reset", "--hard", "HEAD~1"]);
      const tracked = (await this.git.handle.raw(["ls-files"])).split("\n").filter(Boolean);
      for (const path of tracked) if (!(path in contents)) contents[path] = null;
      for (const path of Object.keys(contents))
        if (contents[path] === null && !tracked.includes(path)) delete contents[path];
    }
    const result = await this.git.commit(contents, `round ${round}`);
    this.present = nowPresent;
    this.desired = Object.fromEntries([...this.placement.keys()].sort().map((k) => [k, String(round)]));
    return { before, after: result.after, changed: [...result.added, ...result.modified], removed: result.removed };
  }
}

/** A small seeded PRNG, so a chaos run can be repeated. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
