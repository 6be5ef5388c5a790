/** A repository as the fixtures need it: its name and clone URL. */
export interface RepoRef {
  fullName: string;
  cloneUrl: string;
}

/** A commit of a push: what moved, and which files it changed. */
export interface CommitRef {
  before: string;
  after: string;
  added: string[];
  modified: string[];
  removed: string[];
}

export interface PullRequestSpec {
  number: number;
  /** the normalized action: opened, synchronize, reopened, closed */
  action: string;
  head: string;
  base: string;
  headBranch?: string;
  baseBranch?: string;
  /** full name of the head repository when it is a fork */
  fork?: string;
}

export interface SignedRequest {
  headers: Record<string, string>;
  body: string;
}

/**
 * How the shared platform tests drive one platform end to end: deliveries shaped as the platform sends
 * them, signed with its adapter. Every platform folder has a `fixture.ts` exporting one as `fixture`;
 * the tests load it by kind from the registry. Test support only.
 */
export interface PlatformFixture {
  push(repo: RepoRef, commit: CommitRef, secret: string): SignedRequest;
  /** a new tag at `commit` (the platform lists no files for it) */
  tag(repo: RepoRef, commit: CommitRef, tag: string, secret: string): SignedRequest;
  pullRequest(repo: RepoRef, spec: PullRequestSpec, secret: string): SignedRequest;
  /** the ref the platform keeps a pull request's head under */
  prRef(number: number): string;
}
