import { basename, extname } from "node:path";
import { PipelineError, type Tree } from "@varstream/shared";
import { parseDotenv } from "./dotenv.ts";
import { ParseError } from "./errors.ts";
import { parseHcl } from "./hcl.ts";
import { parseIni } from "./ini.ts";
import { parseJson, parseJsonc } from "./json.ts";
import { parseProperties } from "./properties.ts";
import { parseToml } from "./toml.ts";
import { parseXml } from "./xml.ts";
import { parseYaml } from "./yaml.ts";

export type { Tree } from "@varstream/shared";
export { ParseError } from "./errors.ts";

const PARSERS: Record<string, (text: string, path: string) => Tree | Promise<Tree>> = {
  yaml: parseYaml,
  json: parseJson,
  jsonc: parseJsonc,
  toml: parseToml,
  ini: parseIni,
  dotenv: parseDotenv,
  properties: parseProperties,
  hcl: parseHcl,
  xml: parseXml,
};

const EXTENSIONS: Record<string, string> = {
  ".yaml": "yaml",
  ".yml": "yaml",
  ".json": "json",
  ".jsonc": "jsonc",
  ".json5": "jsonc",
  ".toml": "toml",
  ".ini": "ini",
  ".cfg": "ini",
  ".conf": "ini",
  ".env": "dotenv",
  ".properties": "properties",
  ".hcl": "hcl",
  ".tfvars": "hcl",
  ".xml": "xml",
};

/** The format of a file: by extension, then by name (`.env`, `app.env`, `.env.production`). */
export function formatOf(path: string): string | undefined {
  const byExt = EXTENSIONS[extname(path).toLowerCase()];
  if (byExt) return byExt;
  const name = basename(path).toLowerCase();
  if (name === ".env" || name.startsWith(".env.")) return "dotenv";
  return undefined;
}

/** Parses a file's bytes once into a tree. Invalid UTF-8 is a parse error, not mojibake. */
export async function parseFile(path: string, bytes: Buffer): Promise<{ format: string; tree: Tree }> {
  const format = formatOf(path);
  if (format === undefined) throw new ParseError("file", `no parser for ${path}`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ParseError(format, "file is not valid UTF-8");
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return { format, tree: await PARSERS[format]!(text, path) };
  } catch (err) {
    // Whatever a parser throws (its own refusal, a stack overflow on deep input) fails the file, never the process.
    if (err instanceof PipelineError) throw err;
    throw new ParseError(format, (err as Error)?.message ?? String(err));
  }
}
