export * from "./git-repo.ts";
export * from "./github.ts";
export * from "./payloads.ts";
export * from "./pipeline.ts";
export * from "./redis-scenario.ts";
export * from "./wait.ts";
