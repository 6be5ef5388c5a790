import type { FlatValue } from "../contracts/values.ts";
import { PipelineError } from "../errors/pipeline.ts";
import { FORBIDDEN_SEGMENTS } from "./guard.ts";
import type { Tree } from "./tree.ts";

export class UnflattenError extends PipelineError {
  override name = "UnflattenError";
  constructor(message: string) {
    super("FLATTEN_ERROR", message);
  }
}

/** Splits a flattened key on unescaped separators, undoing the escaping of `flatten`. */
export function splitKey(key: string, separator = "."): string[] {
  const parts: string[] = [];
  let current = "";
  for (let i = 0; i < key.length; i++) {
    if (key[i] === "\\" && i + 1 < key.length) {
      if (key.startsWith(separator, i + 1) || key[i + 1] === "\\") {
        const escaped = key.startsWith(separator, i + 1) ? separator : "\\";
        current += escaped;
        i += escaped.length;
        continue;
      }
    }
    if (key.startsWith(separator, i)) {
      parts.push(current);
      current = "";
      i += separator.length - 1;
      continue;
    }
    current += key[i];
  }
  parts.push(current);
  return parts;
}

type Node = { [key: string]: Node | FlatValue };

/**
 * The inverse of `flatten`: `a.b` → `{a: {b}}`, maps whose keys are exactly 0…n-1 → arrays. A key that
 * is both a value and a parent (`a` and `a.b`) is refused with both names, never silently dropped.
 */
export function unflatten(flat: Record<string, FlatValue>, separator = "."): Tree {
  // Null-prototype maps, and prototype segments refused: a key set can never reach Object.prototype.
  const root: Node = Object.create(null);
  const leaves = new Set<Node | FlatValue>();
  for (const [key, value] of Object.entries(flat)) {
    const parts = splitKey(key, separator);
    const forbidden = parts.find((p) => FORBIDDEN_SEGMENTS.has(p));
    if (forbidden !== undefined) throw new UnflattenError(`key ${key}: ${forbidden} is not allowed as a key`);
    let node = root;
    for (let i = 0; i < parts.length - 1; i++) {
      const part = parts[i]!;
      const next = node[part];
      if (next === undefined) node[part] = Object.create(null);
      else if (leaves.has(next) || next === null || typeof next !== "object" || isEmptyContainer(next)) {
        throw new UnflattenError(`key ${key} is under ${parts.slice(0, i + 1).join(separator)}, which is a value`);
      }
      node = node[part] as Node;
    }
    const leaf = parts.at(-1)!;
    if (node[leaf] !== undefined && typeof node[leaf] === "object" && node[leaf] !== null && !leaves.has(node[leaf])) {
      throw new UnflattenError(`key ${key} has a value and also keys below it`);
    }
    const stored: Node | FlatValue = Array.isArray(value)
      ? []
      : value !== null && typeof value === "object"
        ? {}
        : value;
    if (stored !== null && typeof stored === "object") leaves.add(stored);
    node[leaf] = stored;
  }
  return toArrays(root, leaves) as Tree;
}

function isEmptyContainer(value: unknown): boolean {
  return value !== null && typeof value === "object" && Object.keys(value).length === 0 && Array.isArray(value);
}

function toArrays(node: Node | FlatValue, leaves: Set<Node | FlatValue>): unknown {
  if (node === null || typeof node !== "object" || leaves.has(node)) return node;
  const entries = Object.entries(node as Node);
  const isList = entries.length > 0 && entries.every(([k], i) => k === String(i));
  const converted = entries.map(([k, v]) => [k, toArrays(v, leaves)] as const);
  return isList ? converted.map(([, v]) => v) : Object.fromEntries(converted);
}
