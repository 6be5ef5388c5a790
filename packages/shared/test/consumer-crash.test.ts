import type { Consumer } from "kafkajs";
import { describe, expect, it } from "vitest";
import { MAX_CRASH_RESTARTS, watchConsumerCrash } from "../src/kafka/client.ts";
import { createLogger } from "../src/log.ts";

/** Only the crash event of a consumer: what watchConsumerCrash listens to. */
function crashingConsumer() {
  const listeners: ((e: { payload: { error: Error; groupId: string; restart: boolean } }) => void)[] = [];
  const consumer = {
    events: { CRASH: "consumer.crash" },
    on: (_: string, listener: (typeof listeners)[number]) => listeners.push(listener),
  } as unknown as Consumer;
  const crash = (restart: boolean) => {
    for (const l of listeners) l({ payload: { error: new Error("boom"), groupId: "g", restart } });
  };
  return { consumer, crash };
}

describe("a consumer that keeps crashing", () => {
  it("is left to kafkajs' restarts a few times, then the process gives up so its supervisor sees it", () => {
    const { consumer, crash } = crashingConsumer();
    const fatal: Error[] = [];
    watchConsumerCrash(consumer, createLogger("t", "silent"), (err) => fatal.push(err));
    for (let i = 0; i < MAX_CRASH_RESTARTS; i++) crash(true);
    expect(fatal).toHaveLength(0);
    crash(true);
    expect(fatal).toHaveLength(1);
  });

  it("gives up at once on a crash kafkajs will not restart", () => {
    const { consumer, crash } = crashingConsumer();
    const fatal: Error[] = [];
    watchConsumerCrash(consumer, createLogger("t", "silent"), (err) => fatal.push(err));
    crash(false);
    expect(fatal).toHaveLength(1);
  });
});
