import { readFile } from "node:fs/promises";
import { loadCue } from "@varstream/cue";
import { parseFile } from "@varstream/pipeline";

export interface ValidateResult {
  ok: boolean;
  format?: string;
  errors: { path: string; message: string }[];
}

/** `varstream validate <file> [--schema s.cue]`: parses the file; with a schema, validates it with CUE. */
export async function validateFile(path: string, schemaPath?: string): Promise<ValidateResult> {
  let parsed: Awaited<ReturnType<typeof parseFile>>;
  try {
    parsed = await parseFile(path, await readFile(path));
  } catch (err) {
    return { ok: false, errors: [{ path: "", message: (err as Error).message }] };
  }
  if (schemaPath === undefined) return { ok: true, format: parsed.format, errors: [] };
  const cue = await loadCue();
  {
    const compiled = await cue.compile(await readFile(schemaPath, "utf8"), schemaPath);
    if (!compiled.ok)
      return {
        ok: false,
        format: parsed.format,
        errors: compiled.errors.map((e) => ({ path: e.path, message: `schema: ${e.message}` })),
      };
    const errors = (await compiled.value.validate(parsed.tree)).map((e) => ({
      path: e.path.replace(/^#Config\.?/, ""),
      message: e.message,
    }));
    return { ok: errors.length === 0, format: parsed.format, errors };
  }
}
