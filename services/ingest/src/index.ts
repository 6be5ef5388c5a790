export { buildApp } from "./app.ts";
export { ERRORS, type ErrorCode } from "./errors.ts";
export { type IngestService, startIngest } from "./service.ts";
