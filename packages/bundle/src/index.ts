export * from "./bundle.ts";
export { TEMPLATE_PLACEHOLDERS } from "./rule.ts";
