export { buildApp } from "./app.ts";
export { type IngestService, startIngest } from "./service.ts";
