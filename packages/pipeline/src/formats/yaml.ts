import type { Tree } from "@varstream/shared";
import { type Document, parseAllDocuments } from "yaml";
import { ParseError } from "./errors.ts";

/** Aliases beyond this many are refused: a "billion laughs" file expands exponentially through them. */
const MAX_ALIAS_COUNT = 100;

/** YAML 1.2, one document, unique keys, aliases limited. */
export function parseYaml(text: string): Tree {
  const docs = parseAllDocuments(text, { version: "1.2", uniqueKeys: true, prettyErrors: true }) as
    | Document[]
    | { errors: unknown[] };
  if (!Array.isArray(docs)) return null; // an empty stream
  if (docs.length > 1) throw new ParseError("yaml", "a config file must hold a single YAML document");
  const doc = docs[0];
  if (!doc) return null;
  const [error] = doc.errors;
  if (error) {
    const pos = error.linePos?.[0];
    throw new ParseError("yaml", error.message.split("\n")[0] ?? error.code, pos?.line, pos?.col);
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as Tree;
  } catch (err) {
    throw new ParseError("yaml", (err as Error).message);
  }
}
