export { type SinkWriterService, startSinkWriter } from "./service.ts";
