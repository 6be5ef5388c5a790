export { type EtlService, startEtl } from "./service.ts";
