import { extname } from "node:path";
import { ParseError } from "./errors.ts";
import { parseJson, parseJsonc } from "./json.ts";
import type { Tree } from "./tree.ts";
import { parseYaml } from "./yaml.ts";

export { ParseError } from "./errors.ts";
export type { Tree } from "./tree.ts";

const PARSERS: Record<string, (text: string) => Tree> = {
  yaml: parseYaml,
  json: parseJson,
  jsonc: parseJsonc,
};

const EXTENSIONS: Record<string, string> = { ".yaml": "yaml", ".yml": "yaml", ".json": "json", ".jsonc": "jsonc" };

/** The format of a file by its extension, or undefined when varstream cannot read it. */
export function formatOf(path: string): string | undefined {
  return EXTENSIONS[extname(path).toLowerCase()];
}

/** Parses a file's bytes once into a tree. Invalid UTF-8 is a parse error, not mojibake. */
export function parseFile(path: string, bytes: Buffer): { format: string; tree: Tree } {
  const format = formatOf(path);
  if (format === undefined) throw new ParseError("file", `no parser for ${path}`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ParseError(format, "file is not valid UTF-8");
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return { format, tree: PARSERS[format]!(text) };
}
