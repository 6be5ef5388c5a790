/**
 * The shapes of varTrack's bundle protos (`proto/vartrack/v1/models/**`): enough to tell a value its
 * proto allows from one it does not. A bundle field varstream does not act on is still checked here,
 * so a typo'd value is refused with its path instead of being carried along unnoticed.
 */

export type Check =
  | "string"
  | "bool"
  | "int"
  | "uint"
  | "double"
  | "duration"
  | "timestamp"
  | "strings"
  | "map"
  | "secret"
  | "message"
  | { enum: readonly string[] }
  | { oneOf: readonly string[] };

const DURATION = /^-?\d+(\.\d+)?(ns|us|µs|ms|s|m|h)(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))*$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The reason `value` is not a `check`, or undefined when it is. */
export function mismatch(check: Check, value: unknown): string | undefined {
  if (typeof check === "object") {
    const allowed = "enum" in check ? check.enum : check.oneOf;
    if (enumName(check, value) !== undefined) return undefined;
    return typeof value === "string" && allowed.includes(value) ? undefined : `must be one of ${allowed.join(", ")}`;
  }
  switch (check) {
    case "string":
      return typeof value === "string" ? undefined : "must be a string";
    case "bool":
      return typeof value === "boolean" ? undefined : "must be true or false";
    case "int":
      return Number.isInteger(value) ? undefined : "must be an integer";
    case "uint":
      return Number.isInteger(value) && (value as number) >= 0 ? undefined : "must be an integer ≥ 0";
    case "double":
      return typeof value === "number" ? undefined : "must be a number";
    case "duration":
      // A bare number is seconds: varTrack's own gateway config writes `timeout: 30`.
      return (typeof value === "string" && DURATION.test(value)) || (typeof value === "number" && value >= 0)
        ? undefined
        : 'must be a duration such as "30s"';
    case "timestamp":
      return typeof value === "string" && !Number.isNaN(Date.parse(value)) ? undefined : "must be an RFC 3339 time";
    case "strings":
      return Array.isArray(value) && value.every((v) => typeof v === "string")
        ? undefined
        : "must be a list of strings";
    case "map":
      return isObject(value) && Object.values(value).every((v) => typeof v === "string")
        ? undefined
        : "must be a map of strings";
    case "secret":
      return typeof value === "string" ||
        (isObject(value) &&
          Object.keys(value).length === 1 &&
          (typeof value.value === "string" ||
            typeof value.file === "string" ||
            typeof value.env === "string" ||
            isObject(value.ref)))
        ? undefined
        : "must be a secret: a string, {file}, {env} or {ref: {path, key}}";
    case "message":
      return isObject(value) ? undefined : "must be an object";
  }
}

/** A proto enum's value given by its number (protojson takes both), as its name. */
export function enumName(check: Check, value: unknown): string | undefined {
  if (typeof check !== "object" || !("enum" in check) || !check.enum[0]?.endsWith("_UNSPECIFIED")) return undefined;
  return Number.isInteger(value) ? check.enum[value as number] : undefined;
}

/** A duration as varTrack writes it ("1m30s", "500ms") in milliseconds. */
export function durationMs(text: string | number): number {
  if (typeof text === "number") return text * 1000;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const [, n, u] of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(n) * unit[u!]!;
  return text.startsWith("-") ? -total : total;
}

/** varTrack's enums, each with its proto names; an enum field also takes the value's bare number. */
export const STRATEGY = { enum: ["STRATEGY_UNSPECIFIED", "STRATEGY_KEY_VALUE", "STRATEGY_DOCUMENT", "STRATEGY_FILE"] };
export const DEPLOYMENT_MODE = { enum: ["DEPLOYMENT_MODE_UNSPECIFIED", "STANDALONE", "CLUSTER", "SENTINEL"] };
export const DATA_STRUCTURE = { enum: ["DATA_STRUCTURE_UNSPECIFIED", "STRING", "HASH", "JSON"] };
export const CONFLICT_STRATEGY = { enum: ["CONFLICT_STRATEGY_UNSPECIFIED", "REPLACE", "PATCH", "FAIL"] };
export const UPGRADE_STRATEGY = {
  enum: ["UPGRADE_STRATEGY_UNSPECIFIED", "VALUES_ONLY", "FULL_UPGRADE", "INSTALL_OR_UPGRADE"],
};
export const SECRET_ID_TYPE = { enum: ["SECRET_ID_TYPE_UNSPECIFIED", "PLAIN", "ENVIRONMENT"] };
