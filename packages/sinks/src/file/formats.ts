import { type FlatValue, flatten, PipelineError, type Tree, unflatten } from "@varstream/shared";
import { parse as parseDotProperties, stringify as stringifyProperties } from "dot-properties";
import { parse as parseDotenv } from "dotenv";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";

type Data = Record<string, FlatValue>;

/** How a destination file is read into flat keys and written back from them. */
export interface FileFormat {
  ext: string;
  read(text: string): Data;
  render(data: Data): string;
}

function mapOf(tree: unknown, what: string): Data {
  if (tree === null || tree === undefined) return {};
  if (typeof tree !== "object" || Array.isArray(tree))
    throw new PipelineError("SINK_REFUSED", `${what} does not hold a map`);
  return flatten(tree as Tree);
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** Bare when safe; else single quotes (literal); else backticks (literal, may span lines). */
function envValue(text: string): string {
  if (/^[A-Za-z0-9_./:@+,=-]*$/.test(text)) return text;
  if (!text.includes("'") && !/[\n\r]/.test(text)) return `'${text}'`;
  if (!text.includes("`")) return `\`${text}\``;
  throw new PipelineError(
    "FLATTEN_ERROR",
    "a value with ', ` and a line break together cannot be written to an env file",
  );
}

/**
 * `json` and `yaml` files hold the tree the keys came from (un-flattened, types kept); `env` and
 * `properties` hold the flat keys with their canonical text.
 */
export const FORMATS: Record<"json" | "yaml" | "env" | "properties", FileFormat> = {
  json: {
    ext: "json",
    read: (text) => mapOf(JSON.parse(text), "the file"),
    render: (data) => `${JSON.stringify(unflatten(data), null, 2)}\n`,
  },
  yaml: {
    ext: "yaml",
    read: (text) => mapOf(parseYaml(text), "the file"),
    render: (data) => stringifyYaml(unflatten(data)),
  },
  env: {
    ext: "env",
    read: (text) => parseDotenv(text),
    render: (data) =>
      Object.entries(data)
        .map(([key, value]) => {
          if (!ENV_NAME.test(key))
            throw new PipelineError("FLATTEN_ERROR", `key ${key} cannot be written as an env variable name`);
          return `${key}=${envValue(canonical(value))}\n`;
        })
        .join(""),
  },
  properties: {
    ext: "properties",
    read: (text) => parseDotProperties(text) as Data,
    render: (data) =>
      `${stringifyProperties(Object.fromEntries(Object.entries(data).map(([k, v]) => [k, canonical(v)])), { lineWidth: null })}\n`,
  },
};

function canonical(value: FlatValue): string {
  if (value === null) return "";
  if (typeof value === "object") return Array.isArray(value) ? "[]" : "{}";
  return String(value);
}
