export { parseFile } from "./formats/index.ts";
export { platformCredentials } from "./git/platform-credentials.ts";
export { RepoCache } from "./git/repo-cache.ts";
export { type EtlOutput, processEvent } from "./process-event.ts";
export { type EtlService, startEtl } from "./service.ts";
export { SchemaRegistry } from "./validation/schema-registry.ts";
