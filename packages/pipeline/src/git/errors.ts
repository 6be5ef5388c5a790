import { PipelineError } from "@varstream/shared";

/** A git failure worth retrying (network, remote busy). */
export class TransientGitError extends PipelineError {
  override name = "TransientGitError";
  constructor(message: string) {
    super("GIT_UNREACHABLE", message);
  }
}

/** A git failure that retrying will not fix (unknown commit, refused URL). */
export class PermanentGitError extends PipelineError {
  override name = "PermanentGitError";
  constructor(message: string) {
    super("GIT_ERROR", message);
  }
}
