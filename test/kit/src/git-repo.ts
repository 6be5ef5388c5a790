import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { type SimpleGit, simpleGit } from "simple-git";

export interface CommitResult {
  before: string;
  after: string;
  added: string[];
  modified: string[];
  removed: string[];
}

/** What payload builders need of a repository: its name and clone URL. */
export interface RepoLike {
  readonly fullName: string;
  readonly cloneUrl: string;
}

/** A real Git repository in a temp folder, served over `file://` like a remote. */
export class GitRepo {
  readonly root: string;
  readonly dir: string;
  readonly fullName: string;
  private readonly git: SimpleGit;
  private head = "0".repeat(40);

  private constructor(root: string, fullName: string) {
    this.root = root;
    this.fullName = fullName;
    this.dir = join(root, fullName);
    this.git = simpleGit();
  }

  /** `root` is the platform's file:// endpoint folder; the repo lives at `<root>/<owner>/<name>`. */
  static async create(fullName = "acme/config", root?: string): Promise<GitRepo> {
    const base = root ?? (await mkdtemp(join(tmpdir(), "varstream-git-")));
    const repo = new GitRepo(base, fullName);
    await mkdir(repo.dir, { recursive: true });
    const git = simpleGit(repo.dir);
    await git.init(["--initial-branch=main"]);
    await git.addConfig("user.email", "test@varstream.invalid");
    await git.addConfig("user.name", "varstream test");
    await git.addConfig("commit.gpgsign", "false");
    return repo;
  }

  get cloneUrl(): string {
    return pathToFileURL(this.dir).href;
  }

  get endpoint(): string {
    return pathToFileURL(this.root).href;
  }

  /** Writes (text or bytes) or deletes (null) files and commits them; returns the push's before/after. */
  async commit(files: Record<string, string | Buffer | null>, message = "change config"): Promise<CommitResult> {
    const git = simpleGit(this.dir);
    const result: CommitResult = { before: this.head, after: "", added: [], modified: [], removed: [] };
    for (const [path, content] of Object.entries(files)) {
      const full = join(this.dir, path);
      if (content === null) {
        await rm(full);
        await git.rm([path]);
        result.removed.push(path);
      } else {
        const existed = await git.raw(["ls-files", "--", path]).then((out) => out.trim() !== "");
        await mkdir(dirname(full), { recursive: true });
        await writeFile(full, content);
        await git.add([path]);
        (existed ? result.modified : result.added).push(path);
      }
    }
    await git.commit(message);
    this.head = (await git.revparse(["HEAD"])).trim();
    result.after = this.head;
    return result;
  }

  /** Commits on a new branch made from main, then returns to main; the branch stays unless dropped. */
  async commitOnBranch(branch: string, files: Record<string, string | Buffer | null>): Promise<CommitResult> {
    const git = simpleGit(this.dir);
    const mainHead = this.head;
    await git.checkout(["-B", branch]);
    const result = await this.commit(files, `change on ${branch}`);
    await git.checkout(["main"]);
    this.head = mainHead;
    return { ...result, before: mainHead };
  }

  async deleteBranch(branch: string): Promise<void> {
    await simpleGit(this.dir).raw(["branch", "-D", branch]);
  }

  /** A ref like `refs/pull/7/head`, as GitHub keeps for pull requests. */
  async setRef(ref: string, sha: string): Promise<void> {
    await simpleGit(this.dir).raw(["update-ref", ref, sha]);
  }

  async tag(name: string, sha = this.head): Promise<void> {
    await simpleGit(this.dir).raw(["tag", name, sha]);
  }

  get headSha(): string {
    return this.head;
  }

  async cleanup(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }

  /** For tests that need the raw simple-git handle. */
  get handle(): SimpleGit {
    return this.git.cwd(this.dir);
  }
}
