import type { IHeaders, Message, TopicMessages } from "kafkajs";
import type { z } from "zod";
import { VERSION_HEADER } from "../contracts/keyset.ts";
import { PipelineError, type PipelineErrorCode } from "../errors/pipeline.ts";

/** The content type of a plain JSON value. */
export const CONTENT_TYPE = "application/json";
/** The content type of a value framed for a schema registry: magic byte 0, the schema id (int32 BE), JSON. */
export const FRAMED_CONTENT_TYPE = "application/json; framing=schema-registry";

const MAGIC_BYTE = 0;
const FRAME_HEADER = 5;

/** Raised for a record that cannot be decoded into its contract; such records go to a DLQ. */
export class DecodeError extends PipelineError {
  override name = "DecodeError";
  constructor(message: string, code: PipelineErrorCode = "DECODE_ERROR") {
    super(code, message);
  }
}

/**
 * How a service writes and reads the values of the contract topics (`webhooks`, `webhooks.retry`,
 * `keysets`, `status`). Without a schema registry values are plain JSON ({@link jsonCodec}); with one,
 * producers frame them with the id of their topic's registered schema. Consumers read both.
 */
export interface RecordCodec {
  /** `batch` as it goes on the wire: contract topics' JSON values framed when a registry is configured */
  frame(batch: TopicMessages[]): TopicMessages[];
  /** a record value checked against the writer's schema (framed) and always against `schema` */
  decode<T extends z.ZodType>(schema: T, value: Buffer | null, headers?: IHeaders): Promise<z.infer<T>>;
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

/** A `keysets` record's `version` header (KeySet.version of a tombstone): a whole number, or undefined. */
export function headerVersion(headers: IHeaders | undefined): number | undefined {
  const text = headerText(headers, VERSION_HEADER);
  return text !== undefined && /^\d+$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : undefined;
}

/** A framed value's schema id, or undefined for a plain one; a value claiming a frame it lacks is refused. */
export function frameOf(value: Buffer, headers?: IHeaders): { schemaId: number; json: Buffer } | undefined {
  const type = headerText(headers, "content-type");
  if (type !== undefined && type !== CONTENT_TYPE && type !== FRAMED_CONTENT_TYPE) {
    throw new DecodeError(`unsupported content-type ${type}`);
  }
  if (value[0] !== MAGIC_BYTE) {
    if (type === FRAMED_CONTENT_TYPE) throw new DecodeError("value is marked framed but has no schema-registry frame");
    return undefined;
  }
  if (value.length < FRAME_HEADER) throw new DecodeError("framed value is shorter than its frame");
  return { schemaId: value.readInt32BE(1), json: value.subarray(FRAME_HEADER) };
}

/** `json` (the bytes of a JSON document) behind the frame naming `schemaId`. */
export function framed(schemaId: number, json: string | Buffer): Buffer {
  const header = Buffer.alloc(FRAME_HEADER);
  header.writeUInt8(MAGIC_BYTE, 0);
  header.writeInt32BE(schemaId, 1);
  return Buffer.concat([header, typeof json === "string" ? Buffer.from(json, "utf8") : json]);
}

export function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    throw new DecodeError(`value is not JSON: ${(err as Error).message}`);
  }
}

/** `parsed` as its contract `schema` reads it. */
export function checkContract<T extends z.ZodType>(schema: T, parsed: unknown): z.infer<T> {
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new DecodeError(`value breaks its contract at ${issue?.path.join(".") || "(root)"}: ${issue?.message}`);
  }
  return result.data;
}

/**
 * Decodes a record value against its contract: every consumer boundary validates what it reads. A
 * framed value's frame is skipped unchecked — {@link RecordCodec}s with a registry check it.
 */
export function decode<T extends z.ZodType>(schema: T, value: Buffer | null, headers?: IHeaders): z.infer<T> {
  if (value === null) throw new DecodeError("record has no value");
  const frame = frameOf(value, headers);
  return checkContract(schema, parseJson(frame ? frame.json : value));
}

/** Plain JSON values, no registry: what the local quick start and a registry-less deployment use. */
export const jsonCodec: RecordCodec = {
  frame: (batch) => batch,
  decode: async (schema, value, headers) => decode(schema, value, headers),
};
