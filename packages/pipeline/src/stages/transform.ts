import type { Rule } from "@varstream/bundle";
import {
  applyVariablesMap,
  type FileReport,
  type FlatValue,
  flatten,
  PipelineError,
  type PipelineErrorCode,
  type WebhookEvent,
} from "@varstream/shared";
import { parseFile } from "../formats/index.ts";
import { normalizeEnv } from "../routing/environment.ts";
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

/** A schema field path (`db.password`) as a flattened key under the rule's separator. */
const toKey = (rule: Rule) => (path: string) => path.split(".").join(rule.separator);

/**
 * Stage 5, parse/slice/validate: one target's file parsed by its format (once per path: `parsed`
 * caches it), its root_key subtree and env slice taken, validated against its schema, then flattened
 * and renamed by variables_map. Every failure is a PipelineError with its code — PARSE_ERROR,
 * FILE_TOO_LARGE, ROOT_KEY_MISSING, SCHEMA_*, FLATTEN_ERROR, GIT_ERROR (the file is not at the commit) —
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
    parsed.set(target.path, file);
  }
  const { rule } = target.match;
  const selected = sliceEnv(selectRoot(file.tree, rule.root_key), rule, target.env, knownEnvs(rule, target.env));
  const checked = await validateTree(deps.schemas, rule, target.path, selected);
  if (checked.failure !== undefined) {
    throw new SchemaFailure(checked.failure.code, checked.failure.message, checked.validation);
  }
  const keys = applyVariablesMap(flatten(selected, rule.separator), rule.variables_map);
  return {
    keys,
    validation: checked.validation,
    marks: { sensitive: checked.sensitive.map(toKey(rule)), secrets: checked.secret.map(toKey(rule)) },
  };
}
