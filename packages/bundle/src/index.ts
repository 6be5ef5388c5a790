export * from "./bundle.ts";
export { ApiToken, ControlPlane, TOKEN_SCOPES, type TokenScope } from "./control-plane.ts";
export { TEMPLATE_PLACEHOLDERS } from "./rule.ts";
