import { z } from "zod";

/** A JSON Schema node, as z.toJSONSchema emits it. */
interface Node {
  type?: string | string[];
  description?: string;
  default?: unknown;
  examples?: unknown[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: Node[];
  items?: Node;
  properties?: Record<string, Node>;
  additionalProperties?: Node | boolean;
  required?: string[];
  pattern?: string;
}

const code = (value: unknown) => `\`${typeof value === "string" ? value : JSON.stringify(value)}\``;

/** A credential field (SecretRef): a literal or a `{file}`, `{env}` or `{ref}` reference. */
const isCredential = (node: Node) => node.anyOf?.some((n) => n.properties?.file !== undefined) ?? false;

function typeOf(node: Node): string {
  if (node.enum) return node.enum.map(code).join(" | ");
  if (node.const !== undefined) return code(node.const);
  if (isCredential(node)) return "credential";
  if (node.anyOf) return [...new Set(node.anyOf.map(typeOf))].join(" or ");
  const type = Array.isArray(node.type) ? node.type[0] : node.type;
  if (type === "integer" || type === "number") return "number";
  if (type === "array") return `list of ${node.items ? typeOf(node.items) : "values"}`;
  if (type === "object" && node.properties === undefined) {
    const values = typeof node.additionalProperties === "object" ? typeOf(node.additionalProperties) : "values";
    return `map of ${values}`;
  }
  return type ?? "any";
}

const cell = (text: string) => text.replaceAll("|", "\\|").replaceAll("\n", " ");

function rows(node: Node, prefix: string, out: string[]): void {
  const required = new Set(node.required ?? []);
  for (const [name, field] of Object.entries(node.properties ?? {})) {
    const path = `${prefix}${name}`;
    const nested = field.anyOf?.find((n) => n.properties !== undefined && !isCredential(field)) ?? field;
    const fallback = field.default !== undefined ? code(field.default) : required.has(name) ? "**required**" : "—";
    const example = field.examples?.[0] === undefined ? "" : ` — e.g. ${code(field.examples[0])}`;
    const describedType = nested.properties && !isCredential(field) ? "object" : typeOf(field);
    out.push(
      `| \`${path}\` | ${cell(describedType)} | ${cell(fallback)} | ${cell(`${field.description ?? ""}${example}`)} |`,
    );
    if (nested.properties && !isCredential(field)) rows(nested, `${path}.`, out);
  }
}

/**
 * The configuration table of a schema: one row per field (nested objects as dotted names) with its
 * type, default (or **required**), description and example, all taken from the schema itself.
 */
export function schemaTable(schema: z.ZodType): string {
  const root = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Node;
  const out = ["| field | type | default | what it does |", "|---|---|---|---|"];
  rows(root, "", out);
  return `${out.join("\n")}\n`;
}
