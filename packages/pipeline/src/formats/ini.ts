import type { Tree } from "@varstream/shared";
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
  }
  return parse(text) as Tree;
}
