export * from "./cut-proxy.ts";
export * from "./git-repo.ts";
export * from "./github.ts";
export * from "./payloads.ts";
export * from "./pipeline.ts";
export * from "./redis-scenario.ts";
export * from "./sshd.ts";
export * from "./wait.ts";
