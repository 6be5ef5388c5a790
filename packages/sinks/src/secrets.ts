import { type FlatValue, type Logger, SecretError, type Secrets, scopeKey } from "@varstream/shared";
import type { Desired } from "./plan.ts";

/**
 * Replaces the values of `@secret()` keys (references such as `env:NAME` or `vault:path#key`) by the
 * secrets themselves, at write time: Kafka only ever carries the reference. A reference that cannot
 * be resolved throws, and nothing of the scope is written. Each resolution is logged with its key and
 * reference (which the config repository already shows), never with the value.
 */
export async function resolveSecrets(desired: Desired, secrets: Secrets, logger?: Logger): Promise<Desired> {
  const keySet = desired.keySet;
  if (!keySet?.secrets?.length) return desired;
  const keys: Record<string, FlatValue> = { ...keySet.keys };
  for (const key of keySet.secrets) {
    const ref = keys[key];
    if (ref === undefined) continue;
    if (typeof ref !== "string") throw new SecretError(`secret ${key} is not a reference string`);
    try {
      keys[key] = await secrets.resolveText(ref);
      logger?.info({ scope: scopeKey(desired.scope), key, ref }, "secret reference resolved");
    } catch (err) {
      throw new SecretError(`secret ${key}: ${(err as Error).message}`);
    }
  }
  return { ...desired, keySet: { ...keySet, keys } };
}
