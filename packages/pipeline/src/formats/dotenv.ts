import { FORBIDDEN_SEGMENTS, PipelineError, type Tree } from "@varstream/shared";
import { parse } from "dotenv";
import { ParseError } from "./errors.ts";
import { numberedLines } from "./lines.ts";

const ASSIGNMENT = /^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_.-]*\s*=/;

/**
 * dotenv (`export` prefix, single/double/back quotes, `#` comments) via the dotenv package, which
 * skips lines it does not understand; those are reported here instead, with their position.
 */
export function parseDotenv(text: string): Tree {
  let openQuote: string | undefined;
  for (const { line, text: raw } of numberedLines(text)) {
    if (openQuote !== undefined) {
      if (raw.includes(openQuote)) openQuote = undefined;
      continue;
    }
    if (raw.trim() === "" || raw.trimStart().startsWith("#")) continue;
    if (!ASSIGNMENT.test(raw)) {
      throw new ParseError("dotenv", "expected NAME=value", line, raw.length - raw.trimStart().length + 1);
    }
    const name = raw
      .slice(0, raw.indexOf("="))
      .trim()
      .replace(/^export\s+/, "");
    if (FORBIDDEN_SEGMENTS.has(name)) {
      throw new PipelineError("FORBIDDEN_KEY", `dotenv: ${name} is not allowed as a key, at line ${line}`);
    }
    const value = raw.slice(raw.indexOf("=") + 1).trimStart();
    const quote = value[0];
    if ((quote === '"' || quote === "'" || quote === "`") && value.indexOf(quote, 1) < 0) openQuote = quote;
  }
  if (openQuote !== undefined) throw new ParseError("dotenv", `unclosed ${openQuote} quote`);
  return parse(text) as Tree;
}
