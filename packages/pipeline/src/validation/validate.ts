import type { Rule } from "@varstream/bundle";
import type { FileReport, PipelineErrorCode } from "@varstream/shared";
import type { SchemaRegistry } from "./schema-registry.ts";

export interface Checked {
  validation: FileReport["validation"];
  /** set when the file must fail: SCHEMA_VIOLATION, or SCHEMA_MISSING under require_schema */
  failure?: { code: PipelineErrorCode; message: string };
  /** schema paths of `@sensitive()` and `@secret()` fields */
  sensitive: string[];
  secret: string[];
}

/**
 * The typed tree (after root_key and env slicing, before flattening) against the file's schema.
 * Violations fail the file under `strict_validation`, else they become warnings. A SchemaError (the
 * schema does not compile) is thrown.
 */
export async function validateTree(
  schemas: SchemaRegistry | undefined,
  rule: Rule,
  path: string,
  tree: unknown,
): Promise<Checked> {
  const none = { sensitive: [], secret: [] };
  const found = schemas ? await schemas.schemaFor(path) : undefined;
  if (!found) {
    if (!rule.require_schema) return { validation: { status: "skipped", errors: [] }, ...none };
    const message = schemas ? `no schema for ${path} in the schema registry` : "the bundle has no schema_registry";
    return {
      validation: { status: "failed", errors: [{ path: "", message }] },
      failure: { code: "SCHEMA_MISSING", message },
      ...none,
    };
  }
  const { schema } = found;
  const marks = { sensitive: [...schema.sensitive], secret: [...schema.secret] };
  const errors = (await schema.validate(tree)).map((e) => ({
    path: e.path.replace(/^#Config\.?/, ""),
    message: e.message,
  }));
  if (errors.length === 0) return { validation: { status: "passed", errors }, ...marks };
  if (!rule.strict_validation) return { validation: { status: "warned", errors }, ...marks };
  const message = `schema ${found.file}: ${errors.map((e) => `${e.path || "(root)"}: ${e.message}`).join("; ")}`;
  return { validation: { status: "failed", errors }, failure: { code: "SCHEMA_VIOLATION", message }, ...marks };
}
