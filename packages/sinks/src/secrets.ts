import { type FlatValue, SecretError, type Secrets } from "@varstream/shared";
import type { Desired } from "./plan.ts";

/**
 * Replaces the values of `@secret()` keys (references such as `env:NAME` or `vault:path#key`) by the
 * secrets themselves, at write time: Kafka only ever carries the reference. A reference that cannot
 * be resolved throws, and nothing of the scope is written.
 */
export async function resolveSecrets(desired: Desired, secrets: Secrets): Promise<Desired> {
  const keySet = desired.keySet;
  if (!keySet?.secrets?.length) return desired;
  const keys: Record<string, FlatValue> = { ...keySet.keys };
  for (const key of keySet.secrets) {
    const ref = keys[key];
    if (ref === undefined) continue;
    if (typeof ref !== "string") throw new SecretError(`secret ${key} is not a reference string`);
    try {
      keys[key] = await secrets.resolveText(ref);
    } catch (err) {
      throw new SecretError(`secret ${key}: ${(err as Error).message}`);
    }
  }
  return { ...desired, keySet: { ...keySet, keys } };
}
