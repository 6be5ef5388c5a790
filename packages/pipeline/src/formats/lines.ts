import { FORBIDDEN_SEGMENTS, PipelineError } from "@varstream/shared";
import { ParseError } from "./errors.ts";

/** Lines of a text file with their 1-based numbers, for the line-oriented formats. */
export function numberedLines(text: string): { line: number; text: string }[] {
  return text.split(/\r?\n/).map((t, i) => ({ line: i + 1, text: t }));
}

/**
 * Builds a tree from `a.b.c = v` keys, refusing a key that is both a value and a parent
 * (`a = 1` with `a.b = 2`) instead of losing one of them.
 */
export function nestDotted(
  format: string,
  entries: [string, string, number][],
  separator = ".",
): { [key: string]: unknown } {
  // Null-prototype maps: a `__proto__` part can never reach Object.prototype, and it is refused anyway.
  const root: { [key: string]: unknown } = Object.create(null);
  for (const [key, value, line] of entries) {
    const parts = key.split(separator);
    const forbidden = parts.find((p) => FORBIDDEN_SEGMENTS.has(p));
    if (forbidden !== undefined) {
      throw new PipelineError(
        "FORBIDDEN_KEY",
        `${format}: key ${key} at line ${line}: ${forbidden} is not allowed as a key`,
      );
    }
    let node = root;
    for (let i = 0; i < parts.length - 1; i++) {
      const part = parts[i]!;
      const next = node[part];
      if (next === undefined) node[part] = Object.create(null);
      else if (typeof next !== "object") {
        throw new ParseError(
          format,
          `key ${key} is under ${parts.slice(0, i + 1).join(separator)}, which has a value`,
          line,
          1,
        );
      }
      node = node[part] as { [key: string]: unknown };
    }
    const leaf = parts.at(-1)!;
    if (typeof node[leaf] === "object") {
      throw new ParseError(format, `key ${key} has a value and also keys below it`, line, 1);
    }
    node[leaf] = value;
  }
  return root;
}
