import { FORBIDDEN_SEGMENTS, PipelineError, type Tree } from "@varstream/shared";
import { type ParseError as JsoncError, type Node, parseTree, printParseErrorCode } from "jsonc-parser";
import { ParseError, positionOf } from "./errors.ts";

/**
 * A value from jsonc-parser's syntax tree, maps built without a prototype: its own `parse` assigns
 * keys onto plain objects, where a `__proto__` key would set the prototype instead of a key.
 */
function treeOf(format: string, text: string, node: Node): Tree {
  switch (node.type) {
    case "object": {
      const out: { [key: string]: Tree } = Object.create(null);
      for (const property of node.children ?? []) {
        const [keyNode, valueNode] = property.children ?? [];
        const key = String(keyNode?.value);
        if (FORBIDDEN_SEGMENTS.has(key)) {
          const { line } = positionOf(text, property.offset);
          throw new PipelineError("FORBIDDEN_KEY", `${format}: ${key} is not allowed as a key, at line ${line}`);
        }
        out[key] = valueNode === undefined ? null : treeOf(format, text, valueNode);
      }
      return out;
    }
    case "array":
      return (node.children ?? []).map((child) => treeOf(format, text, child));
    default:
      return node.value as Tree;
  }
}

function parseWith(format: string, text: string, allowComments: boolean): Tree {
  const errors: JsoncError[] = [];
  const root = parseTree(text, errors, { disallowComments: !allowComments, allowTrailingComma: allowComments });
  const [first] = errors;
  if (first) {
    const { line, column } = positionOf(text, first.offset);
    throw new ParseError(format, printParseErrorCode(first.error), line, column);
  }
  return root === undefined ? null : treeOf(format, text, root);
}

/** Strict JSON; errors carry line and column (JSON.parse is the fast path, jsonc-parser finds the position). */
export function parseJson(text: string): Tree {
  try {
    return JSON.parse(text) as Tree;
  } catch (err) {
    parseWith("json", text, false);
    throw new ParseError("json", (err as Error).message);
  }
}

/** JSON with comments and trailing commas (`.jsonc`). */
export function parseJsonc(text: string): Tree {
  return parseWith("jsonc", text, true);
}
