/** Capped exponential backoff with equal jitter: between half and all of base · 2^attempt, at most cap. */
export function backoffMs(attempt: number, baseMs = 100, capMs = 10_000, random = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Calls `fn` until it resolves, at most `attempts` times, waiting with backoff in between; for the
 * moments right after topic creation when a broker still answers "not the leader".
 */
export async function retrying<T>(fn: () => Promise<T>, attempts = 20, baseMs = 100): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt + 1 >= attempts) throw err;
      await delay(backoffMs(attempt, baseMs, 2_000));
    }
  }
}
