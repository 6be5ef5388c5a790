export { formatOf, ParseError, parseFile } from "./formats/index.ts";
export { PermanentGitError, TransientGitError } from "./git/errors.ts";
export { platformCredentials } from "./git/platform-credentials.ts";
export { RepoCache } from "./git/repo-cache.ts";
export { type EtlOutput, type ProcessDeps, processEvent } from "./process-event.ts";
export { createGitReaders, type GitReaders, type GitReadersOptions } from "./readers.ts";
export { cloneUrlAllowedForEvent, cloneUrlOfRepository } from "./routing/clone-url.ts";
export { isProduced, type Orphan, orphanedScopes } from "./routing/orphans.ts";
export { SchemaError, SchemaRegistry } from "./validation/schema-registry.ts";
