import type { z } from "zod";

/** Why a payload was refused; the code is one of the HTTP API catalogue's (ingest answers it as such). */
export type PlatformErrorCode = "INVALID_PAYLOAD" | "UNSUPPORTED_EVENT";

export class PlatformError extends Error {
  override name = "PlatformError";
  readonly code: PlatformErrorCode;
  readonly details: { path: string; message: string }[] | undefined;
  constructor(code: PlatformErrorCode, message: string, details?: { path: string; message: string }[]) {
    super(message);
    this.code = code;
    this.details = details;
  }
}

/** The first issues of a payload that does not parse, as an INVALID_PAYLOAD error. */
export function invalid(error: z.ZodError): PlatformError {
  const issue = error.issues[0];
  return new PlatformError(
    "INVALID_PAYLOAD",
    `payload ${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "invalid"}`,
    error.issues.slice(0, 5).map((i) => ({ path: i.path.join("."), message: i.message })),
  );
}
