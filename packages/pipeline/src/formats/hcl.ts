import { parse } from "@cdktf/hcl2json";
import type { Tree } from "@varstream/shared";
import { ParseError } from "./errors.ts";

/**
 * HCL (`.hcl`, `.tfvars`) with HashiCorp's own parser (compiled to WebAssembly): attributes keep their
 * types; blocks follow HCL's JSON form (`block "a" {…}` → `block.a.0.…`).
 */
export async function parseHcl(text: string, path: string): Promise<Tree> {
  try {
    return (await parse(path, text)) as Tree;
  } catch (err) {
    const message = (err as Error).message;
    const at = /:(\d+),(\d+)(?:-[\d,]+)?: ([^;\]]+)/.exec(message);
    if (at) throw new ParseError("hcl", at[3]!.trim(), Number(at[1]), Number(at[2]));
    throw new ParseError("hcl", message);
  }
}
