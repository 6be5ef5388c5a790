export { parseFile } from "./formats/index.ts";
export { type EtlService, startEtl } from "./service.ts";
export { flatten } from "./transform/flatten.ts";
