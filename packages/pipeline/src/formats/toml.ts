import { FORBIDDEN_SEGMENTS, PipelineError, type Tree } from "@varstream/shared";
import { parse, TomlDate, TomlError } from "smol-toml";
import { ParseError } from "./errors.ts";

/** TOML dates become ISO-8601 strings; everything else keeps its type. */
function normalize(value: unknown): Tree {
  if (value instanceof TomlDate) return value.toISOString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(normalize);
  if (value !== null && typeof value === "object") {
    const out: { [key: string]: Tree } = Object.create(null);
    for (const [k, v] of Object.entries(value)) {
      if (FORBIDDEN_SEGMENTS.has(k)) throw new PipelineError("FORBIDDEN_KEY", `toml: ${k} is not allowed as a key`);
      out[k] = normalize(v);
    }
    return out;
  }
  return value as Tree;
}

export function parseToml(text: string): Tree {
  try {
    return normalize(parse(text));
  } catch (err) {
    if (err instanceof PipelineError) throw err;
    if (err instanceof TomlError) {
      throw new ParseError("toml", err.message.split("\n")[0] ?? "invalid TOML", err.line, err.column);
    }
    throw new ParseError("toml", (err as Error).message);
  }
}
