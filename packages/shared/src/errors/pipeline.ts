/**
 * The pipeline's error catalogue: every way processing a change can fail, by a stable code. A code is
 * carried on the task document (per file and per sink scope), in the `dlq-error-code` header of
 * dead-lettered records, and in gRPC task messages. `retry: true` codes are transient: the pipeline
 * retries them; the others fail the task until the input changes.
 */
export const PIPELINE_ERRORS = {
  PARSE_ERROR: { retry: false, summary: "a changed file does not parse in its format (line and column given)" },
  FLATTEN_ERROR: { retry: false, summary: "a file's tree cannot be flattened or rendered without losing a key" },
  ROOT_KEY_MISSING: { retry: false, summary: "the rule's root_key or the env slice selects nothing in the file" },
  SCHEMA_VIOLATION: { retry: false, summary: "a file does not satisfy its CUE schema" },
  SCHEMA_MISSING: { retry: false, summary: "require_schema is set and no schema applies to the file" },
  SCHEMA_INVALID: { retry: false, summary: "the schema registry's CUE for the file does not compile" },
  NO_SCHEMA_REGISTRY: {
    retry: false,
    summary: "a schema-registry webhook arrived but the bundle has no schema_registry",
  },
  FILE_TOO_LARGE: { retry: false, summary: "a file or a key set is larger than varstream or the broker accepts" },
  FORBIDDEN_KEY: {
    retry: false,
    summary: "a file has a `__proto__`, `constructor` or `prototype` key (refused in every format)",
  },
  DESTINATION_REFUSED: {
    retry: false,
    summary: "a rule's destination_template renders an empty, `.` or `..` segment for a file; nothing is written",
  },
  TREE_TOO_DEEP: { retry: false, summary: "a file nests maps and lists deeper than MAX_TREE_DEPTH (64)" },
  TOO_MANY_KEYS: { retry: false, summary: "a file flattens to more keys than MAX_KEYS_PER_FILE (200000)" },
  KEY_TOO_LONG: { retry: false, summary: "a flattened key is longer than MAX_KEY_LENGTH (4096 characters)" },
  VALUE_TOO_LARGE: { retry: false, summary: "a string value is longer than MAX_VALUE_LENGTH (4 MiB of characters)" },
  CLONE_URL_REFUSED: { retry: false, summary: "the event's clone URL is not under any configured platform endpoint" },
  GIT_ERROR: {
    retry: false,
    summary: "git refused the request: unknown commit or ref, denied credentials, guarded host",
  },
  GIT_UNREACHABLE: { retry: true, summary: "the git host did not answer; the event waits in webhooks.retry" },
  UNKNOWN_DATASOURCE: { retry: false, summary: "an event names a datasource the bundle does not have" },
  SECRET_REF_REFUSED: {
    retry: false,
    summary:
      "a file's `@secret()` value names a reference outside its rule's `secret_refs` allow-list; nothing is written",
  },
  SECRET_UNRESOLVED: {
    retry: false,
    summary: "a credential or @secret() reference cannot be resolved; nothing of the scope is written",
  },
  SINK_UNAVAILABLE: {
    retry: true,
    summary:
      "a sink's store could not be reached (refused connection, timeout); retried with capped backoff until it is back, the sink's partition waiting",
  },
  SINK_REFUSED: {
    retry: false,
    summary: "a sink's store or its rules refused the write (wrong type, validate_command, unsafe path)",
  },
  STALE_WRITE: {
    retry: false,
    summary:
      "a sink write held an older version, or came from an older keysets record, than the store holds (a resync built before a push, a replica that lost its partition); refused, nothing written, reported as a superseded warning",
  },
  DECODE_ERROR: { retry: false, summary: "a record on a topic does not decode into its contract" },
  RECORD_SCHEMA_UNKNOWN: {
    retry: false,
    summary: "a record names a schema id the Kafka schema registry does not have; dead-lettered with the id",
  },
  INTERNAL: { retry: false, summary: "an unexpected error; the log has its stack" },
} as const;

export type PipelineErrorCode = keyof typeof PIPELINE_ERRORS;

export const PIPELINE_ERROR_CODES = Object.keys(PIPELINE_ERRORS) as [PipelineErrorCode, ...PipelineErrorCode[]];

/** An error of the pipeline with its catalogue code. Subclasses fix the code of one kind of failure. */
export class PipelineError extends Error {
  override name = "PipelineError";
  readonly code: PipelineErrorCode;
  constructor(code: PipelineErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * The catalogue code of any error: its own when it is a {@link PipelineError}, else `fallback` (what
 * the failing step means by an unknown error: a sink's SINK_UNAVAILABLE, ETL's INTERNAL).
 */
export function errorCode(err: unknown, fallback: PipelineErrorCode = "INTERNAL"): PipelineErrorCode {
  return err instanceof PipelineError ? err.code : fallback;
}
