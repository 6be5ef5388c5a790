import { execFileSync } from "node:child_process";
import { join } from "node:path";
import type { ServiceName } from "@varstream/testkit";
import type { ChaosStack } from "./stack.ts";
import type { Workload } from "./workload.ts";

const ROOT = join(import.meta.dirname, "../..");

/** What a fault does to the running stack, from outside the code; `recover` undoes it. */
export interface Fault {
  kind: string;
  /** how long the fault lasts before `recover` (the runner pushes commits meanwhile) */
  holdMs: number;
  /** inject before the run's webhooks are posted (else right after them, while they are being worked) */
  before: boolean;
  inject(): Promise<() => Promise<void>>;
}

export interface FaultContext {
  stack: ChaosStack;
  workload: Workload;
  random: () => number;
  /** a process stopped this long loses its partitions (the session timeout plus a margin) */
  pastSessionMs: number;
  /** a broker of its own that the run may restart: infra/kafka/kafka.sh's name and port */
  broker?: { name: string; port: number };
}

const pick = <T>(items: T[], random: () => number): T => items[Math.floor(random() * items.length)]!;

function killFault(ctx: FaultContext, service: ServiceName): Fault {
  return {
    kind: `kill-${service}`,
    holdMs: 0,
    before: false,
    async inject() {
      const name = pick(ctx.stack.names(service), ctx.random);
      ctx.stack.killed.add(name);
      ctx.stack.processes.get(name)!.signal("SIGKILL");
      return async () => {
        await ctx.stack.startService(service, name);
      };
    },
  };
}

function stopFault(ctx: FaultContext, service: ServiceName): Fault {
  return {
    kind: `stop-${service}`,
    holdMs: ctx.pastSessionMs,
    before: false,
    async inject() {
      const p = ctx.stack.processes.get(pick(ctx.stack.names(service), ctx.random))!;
      p.signal("SIGSTOP");
      return async () => p.signal("SIGCONT");
    },
  };
}

function storeFault(ctx: FaultContext, sink: string, mode: "stall" | "down", holdMs: number): Fault {
  return {
    kind: `${mode}-${sink}-${holdMs >= 60_000 ? `${holdMs / 60_000}m` : `${holdMs / 1000}s`}`,
    holdMs,
    before: false,
    async inject() {
      const proxy = ctx.stack.stores.get(sink as never)?.proxy;
      if (!proxy) return async () => undefined;
      if (mode === "stall") proxy.stall();
      else proxy.down();
      return async () => (mode === "stall" ? proxy.resume() : proxy.up());
    },
  };
}

/**
 * The fault kinds: `short` ones the runner cycles through; `long` ones (store outages of a minute and
 * of ten minutes) it runs once each when asked to.
 */
export function faultKinds(ctx: FaultContext): { short: (() => Fault)[]; long: (() => Fault)[] } {
  const short: (() => Fault)[] = [
    () => killFault(ctx, "etl"),
    () => killFault(ctx, "sink-writer"),
    () => killFault(ctx, "ingest"),
    () => stopFault(ctx, "etl"),
    () => stopFault(ctx, "sink-writer"),
    () => ({ kind: "git-away", holdMs: 3000, before: true, inject: () => ctx.workload.takeAway() }),
  ];
  const long: (() => Fault)[] = [];
  const proxied = [...ctx.stack.stores.keys()].filter((s) => ctx.stack.stores.get(s)?.proxy);
  for (const sink of proxied) {
    short.push(
      () => storeFault(ctx, sink, "stall", 1000),
      () => storeFault(ctx, sink, "down", 1000),
    );
    long.push(() => storeFault(ctx, sink, "down", 60_000));
  }
  if (proxied[0]) long.push(() => storeFault(ctx, proxied[0]!, "stall", 600_000));
  const { broker } = ctx;
  if (broker) {
    const kafka = (...args: string[]) =>
      execFileSync("bash", [join(ROOT, "infra/kafka/kafka.sh"), ...args], {
        env: { ...process.env, KAFKA_PORT: String(broker.port) },
        stdio: "ignore",
      });
    short.push(() => ({
      kind: "broker-restart",
      holdMs: 2000,
      before: false,
      async inject() {
        kafka("stop", broker.name);
        return async () => void kafka("start", broker.name);
      },
    }));
  }
  return { short, long };
}
