import type { Tree } from "@varstream/shared";
import { type ParseError as JsoncError, parse, printParseErrorCode } from "jsonc-parser";
import { ParseError, positionOf } from "./errors.ts";

function parseWith(format: string, text: string, allowComments: boolean): Tree {
  const errors: JsoncError[] = [];
  const tree = parse(text, errors, { disallowComments: !allowComments, allowTrailingComma: allowComments }) as Tree;
  const [first] = errors;
  if (first) {
    const { line, column } = positionOf(text, first.offset);
    throw new ParseError(format, printParseErrorCode(first.error), line, column);
  }
  return tree === undefined ? null : tree;
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
