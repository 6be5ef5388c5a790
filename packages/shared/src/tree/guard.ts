import { PipelineError } from "../errors/pipeline.ts";
import type { Tree } from "./tree.ts";

/** Key segments refused in every tree: as object keys they reach (or shadow) JavaScript's prototypes. */
export const FORBIDDEN_SEGMENTS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/** What one config file's tree may hold (MAX_TREE_DEPTH, MAX_KEYS_PER_FILE, MAX_KEY_LENGTH, MAX_VALUE_LENGTH). */
export interface TreeLimits {
  /** nesting of maps and lists */
  maxDepth: number;
  /** leaves (the keys it flattens to) */
  maxKeys: number;
  /** characters of a flattened key (its segments and separators) */
  maxKeyLength: number;
  /** characters of one string value */
  maxValueLength: number;
}

/** Far above what a real config repository holds, and cheap to check: one pass over the tree. */
export const DEFAULT_TREE_LIMITS: TreeLimits = {
  maxDepth: 64,
  maxKeys: 200_000,
  maxKeyLength: 4096,
  maxValueLength: 4 * 1024 * 1024,
};

/** A segment of a key path for messages: short, printable. */
const shown = (path: string[]) => {
  const text = path.join(".");
  return text.length > 120 ? `${text.slice(0, 117)}…` : text || "(root)";
};

/**
 * Refuses a tree that is hostile or beyond the limits, right after parsing and before anything else
 * reads it: a `__proto__`/`constructor`/`prototype` key (FORBIDDEN_KEY), nesting deeper than
 * maxDepth (TREE_TOO_DEEP), more than maxKeys leaves (TOO_MANY_KEYS), a key longer than maxKeyLength
 * (KEY_TOO_LONG), a string value longer than maxValueLength (VALUE_TOO_LARGE). Iterative: a deep
 * tree cannot overflow the stack here.
 */
export function checkTree(tree: Tree, limits: TreeLimits, file: string): void {
  const stack: { node: Tree; path: string[]; keyLength: number }[] = [{ node: tree, path: [], keyLength: 0 }];
  let leaves = 0;
  while (stack.length > 0) {
    const { node, path, keyLength } = stack.pop()!;
    if (node !== null && typeof node === "object") {
      if (path.length >= limits.maxDepth) {
        throw new PipelineError(
          "TREE_TOO_DEEP",
          `${file} nests deeper than MAX_TREE_DEPTH (${limits.maxDepth}) at ${shown(path.slice(0, 8))}…`,
        );
      }
      const entries: [string, Tree][] = Array.isArray(node)
        ? node.map((v, i) => [String(i), v])
        : Object.keys(node).map((k) => [k, (node as Record<string, Tree>)[k]!]);
      if (entries.length === 0) leaves += 1;
      for (const [segment, child] of entries) {
        if (FORBIDDEN_SEGMENTS.has(segment)) {
          throw new PipelineError(
            "FORBIDDEN_KEY",
            `${file} has a key ${shown([...path, segment])}: ${segment} is not allowed as a key`,
          );
        }
        const length = keyLength + (path.length > 0 ? 1 : 0) + segment.length;
        if (length > limits.maxKeyLength) {
          throw new PipelineError(
            "KEY_TOO_LONG",
            `${file} has a key of more than MAX_KEY_LENGTH (${limits.maxKeyLength}) characters at ${shown([...path.slice(0, 4), segment.slice(0, 40)])}`,
          );
        }
        stack.push({ node: child, path: [...path, segment], keyLength: length });
      }
    } else {
      leaves += 1;
      if (typeof node === "string" && node.length > limits.maxValueLength) {
        throw new PipelineError(
          "VALUE_TOO_LARGE",
          `${file}: the value of ${shown(path)} has ${node.length} characters, more than MAX_VALUE_LENGTH (${limits.maxValueLength})`,
        );
      }
    }
    if (leaves > limits.maxKeys) {
      throw new PipelineError("TOO_MANY_KEYS", `${file} has more than MAX_KEYS_PER_FILE (${limits.maxKeys}) keys`);
    }
  }
}
