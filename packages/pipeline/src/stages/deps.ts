import type { Bundle } from "@varstream/bundle";
import type { TreeLimits } from "@varstream/shared";
import type { RepoCache } from "../git/repo-cache.ts";
import type { SchemaRegistry } from "../validation/schema-registry.ts";

/** What processing an event needs: the bundle, Git, the schemas; and what it knows of earlier commits. */
export interface ProcessDeps {
  bundle: Bundle;
  repos: RepoCache;
  /** the schema registry, when the bundle has one */
  schemas?: SchemaRegistry;
  /** the last commit produced for a scope, if any */
  lastCommit?: (scopeKey: string) => string | undefined;
  /** files larger than this fail with FILE_TOO_LARGE before they are parsed (default: no limit) */
  maxFileBytes?: number;
  /** checked on every parsed tree (default DEFAULT_TREE_LIMITS) */
  treeLimits?: TreeLimits;
  now?: () => Date;
}
