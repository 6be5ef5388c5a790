/**
 * The catalogue of HTTP API error codes. Every error a client can see is one of these: a stable
 * `code`, its HTTP status, and a message. Nothing a client sends produces a 500.
 */
export const HTTP_ERRORS = {
  BAD_JSON: { status: 400, message: "request body is not valid JSON" },
  BAD_REQUEST: { status: 400, message: "request is malformed" },
  INVALID_PAYLOAD: { status: 400, message: "the webhook payload lacks what its event needs" },
  UNSUPPORTED_EVENT: { status: 400, message: "the webhook is not an event varstream can handle" },
  SIGNATURE_INVALID: { status: 401, message: "webhook signature is missing or does not match" },
  UNAUTHENTICATED: { status: 401, message: "a valid bearer token is required" },
  FORBIDDEN: { status: 403, message: "the token lacks the scope this call needs" },
  CLONE_URL_REFUSED: {
    status: 403,
    message: "the payload's clone URL is not its repository under the verified platform's endpoint",
  },
  DELIVERY_EXPIRED: {
    status: 410,
    message:
      "the delivery is older than DELIVERY_DEDUPE_WINDOW (by the push time the platform signed); a replay is refused",
  },
  UNKNOWN_DATASOURCE: { status: 404, message: "no datasource of that name in the bundle" },
  TASK_NOT_FOUND: { status: 404, message: "no task with that id" },
  NOT_FOUND: { status: 404, message: "no such route" },
  PAYLOAD_TOO_LARGE: { status: 413, message: "request body exceeds MAX_WEBHOOK_BYTES" },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: "content type must be application/json" },
  BROKER_UNAVAILABLE: { status: 503, message: "Kafka did not acknowledge the event; retry later" },
  SECRET_UNAVAILABLE: { status: 503, message: "the platform's webhook secret cannot be resolved; retry later" },
  NOT_READY: { status: 503, message: "service is not ready" },
  INTERNAL: { status: 500, message: "internal error" },
} as const;

export type HttpErrorCode = keyof typeof HTTP_ERRORS;

export class ApiError extends Error {
  override name = "ApiError";
  readonly code: HttpErrorCode;
  readonly status: number;
  readonly details: unknown;
  constructor(code: HttpErrorCode, message?: string, details?: unknown) {
    super(message ?? HTTP_ERRORS[code].message);
    this.code = code;
    this.status = HTTP_ERRORS[code].status;
    this.details = details;
  }
}

export function errorBody(code: HttpErrorCode, message: string, details?: unknown) {
  return { error: { code, message, ...(details === undefined ? {} : { details }) } };
}

/** JSON schema of the error body, for the OpenAPI document. */
export const errorSchema = {
  type: "object",
  properties: {
    error: {
      type: "object",
      properties: {
        code: { type: "string", enum: Object.keys(HTTP_ERRORS) },
        message: { type: "string" },
        details: {},
      },
      required: ["code", "message"],
    },
  },
  required: ["error"],
} as const;
