import type { FlatValue } from "../contracts/values.ts";
import { PipelineError } from "../errors/pipeline.ts";
import type { Tree } from "./tree.ts";

export class FlattenError extends PipelineError {
  override name = "FlattenError";
  constructor(message: string) {
    super("FLATTEN_ERROR", message);
  }
}

/** Escapes the separator (and the escape character) inside one key segment: `a.b` → `a\.b`. */
export function escapeSegment(segment: string, separator: string): string {
  return segment.replaceAll("\\", "\\\\").replaceAll(separator, `\\${separator}`);
}

/**
 * Flattens a tree to `key → value`: maps by key, arrays by index, the separator inside a
 * key escaped so two different trees never give the same key, empty maps and arrays kept as `{}`/`[]`,
 * scalars keeping their type. A scalar root is refused: a config file is a map.
 */
export function flatten(tree: Tree, separator = "."): Record<string, FlatValue> {
  const out: Record<string, FlatValue> = {};
  if (tree === null || typeof tree !== "object") {
    throw new FlattenError(`the file's root is a ${tree === null ? "null" : typeof tree}, not a map`);
  }
  // Iterative walk: a deeply nested file must not overflow the stack.
  const stack: [string, Tree][] = [["", tree]];
  while (stack.length > 0) {
    const [prefix, node] = stack.pop()!;
    const entries: [string, Tree][] = Array.isArray(node)
      ? node.map((v, i) => [String(i), v])
      : Object.entries(node as { [key: string]: Tree });
    if (entries.length === 0 && prefix !== "") {
      out[prefix] = Array.isArray(node) ? [] : {};
      continue;
    }
    for (let i = entries.length - 1; i >= 0; i--) {
      const [segment, value] = entries[i]!;
      const key =
        prefix === "" ? escapeSegment(segment, separator) : `${prefix}${separator}${escapeSegment(segment, separator)}`;
      if (value !== null && typeof value === "object") stack.push([key, value]);
      else out[key] = value;
    }
  }
  return sortKeys(out);
}

function sortKeys(record: Record<string, FlatValue>): Record<string, FlatValue> {
  const sorted: Record<string, FlatValue> = {};
  for (const key of Object.keys(record).sort()) sorted[key] = record[key]!;
  return sorted;
}

/**
 * `variables_map`, applied after flattening: `{to: from}` copies the value of key `from`
 * to key `to` and drops `from` (a rename); a `from` that is no key is taken as a literal value (an addition).
 */
export function applyVariablesMap(
  keys: Record<string, FlatValue>,
  map: Record<string, string>,
): Record<string, FlatValue> {
  const out = { ...keys };
  for (const [to, from] of Object.entries(map)) {
    if (Object.hasOwn(keys, from)) {
      out[to] = keys[from]!;
      if (to !== from) delete out[from];
    } else {
      out[to] = from;
    }
  }
  return sortKeys(out);
}
