import { type Logger, pino } from "pino";

export type { Logger };

/** JSON logs (pino). Components add `task_id`, `delivery_id`, `scope` as child bindings. */
export function createLogger(
  name: string,
  level = process.env.LOG_LEVEL ?? "info",
  destination?: NodeJS.WritableStream,
): Logger {
  const options = {
    name,
    level,
    base: { service: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ["*.token", "*.password", "*.secret", "headers.authorization"], censor: "[masked]" },
  };
  return destination ? pino(options, destination) : pino(options);
}
