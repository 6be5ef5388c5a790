/** A git failure worth retrying (network, remote busy). */
export class TransientGitError extends Error {
  override name = "TransientGitError";
}

/** A git failure that retrying will not fix (unknown commit, refused URL). */
export class PermanentGitError extends Error {
  override name = "PermanentGitError";
}
