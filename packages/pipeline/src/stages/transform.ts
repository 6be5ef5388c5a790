import type { Rule } from "@varstream/bundle";
import {
  applyVariablesMap,
  checkTree,
  DEFAULT_TREE_LIMITS,
  type FileReport,
  type FlatValue,
  flatten,
  PipelineError,
  type PipelineErrorCode,
  type WebhookEvent,
} from "@varstream/shared";
import { parseFile } from "../formats/index.ts";
import { normalizeEnv } from "../routing/environment.ts";
import { glob } from "../routing/rules.ts";
import { selectRoot, sliceEnv } from "../transform/select.ts";
import { validateTree } from "../validation/validate.ts";
import type { ProcessDeps } from "./deps.ts";
import type { Target } from "./targets.ts";

export interface Transformed {
  keys: Record<string, FlatValue>;
  validation: FileReport["validation"];
  /** flattened keys of `@sensitive()` and `@secret()` fields */
  marks: { sensitive: string[]; secrets: string[] };
}

/** A file its schema refuses (or, under require_schema, that has none), with what validation found. */
export class SchemaFailure extends PipelineError {
  override name = "SchemaFailure";
  readonly validation: FileReport["validation"];
  constructor(code: PipelineErrorCode, message: string, validation: FileReport["validation"]) {
    super(code, message);
    this.validation = validation;
  }
}

/** A parsed file, kept per path: several rules or datasources may read one file. */
export type Parsed = Awaited<ReturnType<typeof parseFile>>;

function knownEnvs(rule: Rule, env: string): Set<string> {
  return new Set(
    [...rule.envs, ...Object.values(rule.branch_map), ...Object.keys(rule.file_path_map), env].map(normalizeEnv),
  );
}

/**
 * A file's `@secret()` values are references the sink writer resolves with the operator's
 * credentials: each must match one of its rule's `secret_refs` globs (`{tenant}` filled in), or the
 * file fails before anything is emitted. The reference is named; its value is never read here.
 */
function checkSecretRefs(rule: Rule, path: string, keys: Record<string, FlatValue>, secretKeys: string[]): void {
  const allowed = rule.secret_refs.map((p) => glob(p.replaceAll("{tenant}", rule.tenant)));
  for (const key of secretKeys) {
    if (!Object.hasOwn(keys, key)) continue;
    const ref = keys[key];
    const walks = typeof ref === "string" && ref.split(/[/#]/).some((s) => s === ".." || s === ".");
    if (typeof ref !== "string" || walks || !allowed.some((m) => m(ref))) {
      throw new PipelineError(
        "SECRET_REF_REFUSED",
        `${path}: secret ${key} names ${typeof ref === "string" ? JSON.stringify(ref.slice(0, 200)) : "no reference"}, which its rule's secret_refs do not allow`,
      );
    }
  }
}

/** A schema field path (`db.password`) as a flattened key under the rule's separator. */
const toKey = (rule: Rule) => (path: string) => path.split(".").join(rule.separator);

/**
 * Stage 5, parse/slice/validate: one target's file parsed by its format (once per path: `parsed`
 * caches it), its root_key subtree and env slice taken, validated against its schema, then flattened
 * and renamed by variables_map. Every failure is a PipelineError with its code — PARSE_ERROR,
 * FILE_TOO_LARGE, the tree guard's (FORBIDDEN_KEY, TREE_TOO_DEEP, TOO_MANY_KEYS, KEY_TOO_LONG,
 * VALUE_TOO_LARGE), ROOT_KEY_MISSING, SCHEMA_*, FLATTEN_ERROR, GIT_ERROR (the file is not at the commit) —
 * carrying the validation found so far.
 */
export async function transformTarget(
  event: WebhookEvent,
  target: Target,
  bytes: Buffer | null | undefined,
  deps: ProcessDeps,
  parsed: Map<string, Parsed>,
): Promise<Transformed> {
  if (bytes === null || bytes === undefined) {
    throw new PipelineError("GIT_ERROR", `${target.path} does not exist at ${event.after.slice(0, 12)}`);
  }
  if (deps.maxFileBytes !== undefined && bytes.length > deps.maxFileBytes) {
    throw new PipelineError(
      "FILE_TOO_LARGE",
      `${target.path} is ${bytes.length} bytes, more than MAX_FILE_BYTES (${deps.maxFileBytes})`,
    );
  }
  let file = parsed.get(target.path);
  if (!file) {
    file = await parseFile(target.path, bytes);
    checkTree(file.tree, deps.treeLimits ?? DEFAULT_TREE_LIMITS, target.path);
    parsed.set(target.path, file);
  }
  const { rule } = target.match;
  const selected = sliceEnv(selectRoot(file.tree, rule.root_key), rule, target.env, knownEnvs(rule, target.env));
  const checked = await validateTree(deps.schemas, rule, target.path, selected);
  if (checked.failure !== undefined) {
    throw new SchemaFailure(checked.failure.code, checked.failure.message, checked.validation);
  }
  const keys = applyVariablesMap(flatten(selected, rule.separator), rule.variables_map);
  const secrets = checked.secret.map(toKey(rule));
  checkSecretRefs(rule, target.path, keys, secrets);
  return {
    keys,
    validation: checked.validation,
    marks: { sensitive: checked.sensitive.map(toKey(rule)), secrets },
  };
}
