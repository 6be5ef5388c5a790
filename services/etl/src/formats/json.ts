import { ParseError, positionOf } from "./errors.ts";
import type { Tree } from "./tree.ts";

export function parseJson(text: string): Tree {
  try {
    return JSON.parse(text) as Tree;
  } catch (err) {
    const message = (err as Error).message;
    const at = /position (\d+)/.exec(message);
    if (at) {
      const { line, column } = positionOf(text, Number(at[1]));
      throw new ParseError("json", message.replace(/ in JSON at position.*$/, ""), line, column);
    }
    throw new ParseError("json", message);
  }
}
