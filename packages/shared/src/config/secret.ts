import { readFileSync } from "node:fs";
import { z } from "zod";

/** A credential field: a literal, `{file: path}`, `{env: NAME}` or `{ref: {path, key}}` (SPEC §7). */
export const SecretRef = z.union([
  z.string(),
  z.object({ file: z.string().min(1) }).strict(),
  z.object({ env: z.string().min(1) }).strict(),
  z.object({ ref: z.object({ path: z.string().min(1), key: z.string().min(1) }).strict() }).strict(),
]);
export type SecretRef = z.infer<typeof SecretRef>;

export class SecretError extends Error {
  override name = "SecretError";
}

/**
 * Resolves a credential at use. A secret that cannot be resolved throws: a placeholder is never used.
 * `ref` needs a secret manager, which arrives with the CUE bundle (SPEC §7); until then it is refused.
 */
export function resolveSecret(ref: SecretRef, env: Record<string, string | undefined> = process.env): string {
  if (typeof ref === "string") return ref;
  if ("file" in ref) {
    try {
      return readFileSync(ref.file, "utf8").trim();
    } catch (err) {
      throw new SecretError(`secret file ${ref.file} cannot be read: ${(err as Error).message}`);
    }
  }
  if ("env" in ref) {
    const value = env[ref.env];
    if (value === undefined || value === "") throw new SecretError(`secret env ${ref.env} is not set`);
    return value;
  }
  throw new SecretError(`secret manager reference ${ref.ref.path}#${ref.ref.key} has no secret manager configured`);
}
