import type { IHeaders, Message } from "kafkajs";
import type { z } from "zod";
import { PipelineError } from "../errors/pipeline.ts";

export const CONTENT_TYPE = "application/json";

/** Raised for a record that cannot be decoded into its contract; such records go to a DLQ. */
export class DecodeError extends PipelineError {
  override name = "DecodeError";
  constructor(message: string) {
    super("DECODE_ERROR", message);
  }
}

export function encode(key: string, value: unknown, headers: Record<string, string> = {}): Message {
  return { key, value: JSON.stringify(value), headers: { "content-type": CONTENT_TYPE, ...headers } };
}

export function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  if (value === undefined) return undefined;
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

/** Decodes a record value against its contract: every consumer boundary validates what it reads. */
export function decode<T extends z.ZodType>(schema: T, value: Buffer | null, headers?: IHeaders): z.infer<T> {
  if (value === null) throw new DecodeError("record has no value");
  const type = headerText(headers, "content-type");
  if (type !== undefined && type !== CONTENT_TYPE) throw new DecodeError(`unsupported content-type ${type}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString("utf8"));
  } catch (err) {
    throw new DecodeError(`value is not JSON: ${(err as Error).message}`);
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new DecodeError(`value breaks its contract at ${issue?.path.join(".") || "(root)"}: ${issue?.message}`);
  }
  return result.data;
}
