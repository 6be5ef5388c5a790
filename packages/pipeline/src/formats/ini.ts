import { FORBIDDEN_SEGMENTS, PipelineError, type Tree } from "@varstream/shared";
import { parse } from "ini";
import { ParseError } from "./errors.ts";
import { numberedLines } from "./lines.ts";

const SECTION = /^\s*\[[^\]]+\]\s*([;#].*)?$/;
const ENTRY = /^\s*[^=\s[;#][^=]*(=.*)?$/;

/** INI: sections become nesting (`[db]` `host=x` → `db.host`). Lines that are no INI are errors. */
export function parseIni(text: string): Tree {
  for (const { line, text: raw } of numberedLines(text)) {
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith(";") || trimmed.startsWith("#")) continue;
    if (trimmed.startsWith("[") ? !SECTION.test(raw) : !ENTRY.test(raw)) {
      throw new ParseError("ini", trimmed.startsWith("[") ? "unclosed section header" : "expected key=value", line, 1);
    }
    // The ini package drops these silently; refused, as in every format.
    const name = trimmed.startsWith("[") ? trimmed.slice(1, trimmed.indexOf("]")) : trimmed.split("=")[0]!;
    const forbidden = name
      .trim()
      .split(".")
      .find((p) => FORBIDDEN_SEGMENTS.has(p.trim()));
    if (forbidden !== undefined) {
      throw new PipelineError("FORBIDDEN_KEY", `ini: ${forbidden} is not allowed as a key, at line ${line}`);
    }
  }
  return parse(text) as Tree;
}
