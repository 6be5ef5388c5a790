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

const MASK = "****";

/** The scalar values (as text) the tree holds at `@sensitive()`/`@secret()` paths, longest first. */
function markedValues(tree: unknown, paths: string[]): string[] {
  const out = new Set<string>();
  for (const path of paths) {
    let node: unknown = tree;
    for (const part of path.split(".")) {
      node =
        node !== null && typeof node === "object" && Object.hasOwn(node, part)
          ? (node as Record<string, unknown>)[part]
          : undefined;
    }
    if (node !== undefined && node !== null && typeof node !== "object") out.add(String(node));
  }
  return [...out].filter((v) => v !== "").sort((a, b) => b.length - a.length);
}

/** A CUE message with every marked value replaced: a violation never puts a secret into a task document. */
function mask(message: string, hidden: string[]): string {
  let out = message;
  for (const value of hidden) out = out.replaceAll(value, MASK);
  return out;
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
  const hidden = markedValues(tree, [...marks.sensitive, ...marks.secret]);
  const errors = (await schema.validate(tree)).map((e) => ({
    path: e.path.replace(/^#Config\.?/, ""),
    message: mask(e.message, hidden),
  }));
  if (errors.length === 0) return { validation: { status: "passed", errors }, ...marks };
  if (!rule.strict_validation) return { validation: { status: "warned", errors }, ...marks };
  const message = `schema ${found.file}: ${errors.map((e) => `${e.path || "(root)"}: ${e.message}`).join("; ")}`;
  return { validation: { status: "failed", errors }, failure: { code: "SCHEMA_VIOLATION", message }, ...marks };
}
