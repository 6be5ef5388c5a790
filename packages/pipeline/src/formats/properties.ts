import type { Tree } from "@varstream/shared";
import { type Pair, parseLines } from "dot-properties";
import { ParseError, positionOf } from "./errors.ts";
import { nestDotted } from "./lines.ts";

/**
 * Java properties (escapes, `\` continuations, `=`/`:`/space separators) via dot-properties; dotted
 * keys nest (`db.host` → `db: {host}`), so they flatten back to the same key.
 */
export function parseProperties(text: string): Tree {
  const entries: [string, string, number][] = [];
  for (const node of parseLines(text, true)) {
    if (node.type !== "PAIR") continue;
    const pair = node as unknown as Pair;
    const { line } = positionOf(text, pair.range?.[0] ?? 0);
    if (pair.key === "") throw new ParseError("properties", "an entry has no key", line, 1);
    entries.push([pair.key, pair.value, line]);
  }
  return nestDotted("properties", entries) as Tree;
}
