export * from "./http.ts";
export * from "./pipeline.ts";
