import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createKafka, createLogger, delay, topicNames } from "@varstream/shared";
import { SINK_KINDS, type SinkKind } from "@varstream/sinks";
import { readCommitted, waitFor } from "@varstream/testkit";
import { type Fault, faultKinds } from "./faults.ts";
import { ChaosStack, OUTSIDE_KEY } from "./stack.ts";
import { Workload } from "./workload.ts";

export interface ChaosOptions {
  /** fault runs (at least one of each short kind) */
  runs: number;
  sinks: SinkKind[];
  repos: number;
  files: number;
  keys: number;
  /** the ten-minute and one-minute outages, once each */
  long: boolean;
  seed: number;
  /** a broker of the run's own, restarted as one of the faults */
  broker?: { name: string; port: number; brokers: string };
  /** how long after recovering a run may take to converge before it counts as lost */
  convergeTimeoutMs: number;
  log?: (line: string) => void;
}

export interface ChaosFigures {
  runs: number;
  faults: Record<string, number>;
  accepted: number;
  /** accepted webhooks whose task never ended, plus destinations that never converged */
  lost: number;
  /** key sets emitted twice for one task and scope */
  duplicated: number;
  /** a key's observed value (its round) went down */
  regressions: number;
  /** the first regressions seen, `<sink> <repo> <key>: <round before> → <round>`, to tell where they came from */
  regressed: string[];
  /** tasks that ended FAILED or PARTIAL */
  failed_tasks: number;
  /** keys outside the manifests changed or gone */
  outside_touched: number;
  /** service processes that exited on their own and were started again (as a supervisor would) */
  exits: Record<string, number>;
  /** seconds from undoing the fault until every store and task converged */
  converge_s: { p50: number; p99: number; max: number };
  /** seconds from the fault until then (includes how long it lasted) */
  fault_s: { p50: number; p99: number; max: number };
  backoff_cap_s: number;
}

const SESSION_MS = 6000;
const BACKOFF_MS = 5000;

/**
 * Runs the chaos suite: a stack of separate processes, commits streaming into every repository, one
 * fault per run from outside the code, and a checker reading the real stores and topics. Each run:
 * one commit per repository, its webhooks posted, the fault held while a second round is posted, the
 * fault undone; then the time until every store equals the desired state and every accepted task has
 * ended is the run's convergence time. Meanwhile a sampler reads the stores and counts any key whose
 * value (its round) goes down.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosFigures> {
  const log = options.log ?? (() => undefined);
  const owner = `chaos${randomBytes(3).toString("hex")}`;
  const workload = await Workload.create(owner, options.repos, options.files, options.keys, options.seed);
  const stack = await ChaosStack.start(workload, {
    sinks: options.sinks,
    replicas: 2,
    sessionTimeout: `${SESSION_MS}ms`,
    maxBackoff: `${BACKOFF_MS}ms`,
    ...(options.broker ? { kafkaBrokers: options.broker.brokers } : {}),
  });
  // Park–Miller: stays exact in a double.
  let random = (options.seed % 2147483646) + 1;
  const rnd = () => {
    random = (random * 48271) % 2147483647;
    return random / 2147483647;
  };
  const accepted: string[] = [];
  const faults: Record<string, number> = {};
  const converge: number[] = [];
  const disrupted: number[] = [];
  let lost = 0;
  const sampler = new Sampler(stack, workload);
  try {
    const kinds = faultKinds({
      stack,
      workload,
      random: rnd,
      pastSessionMs: SESSION_MS + 2000,
      ...(options.broker ? { broker: options.broker } : {}),
    });
    const plan: Fault[] = [];
    if (options.long) plan.push(...kinds.long.map((k) => k()));
    // At least one of each short kind, then round after round of them.
    const runs = Math.max(options.runs, plan.length + kinds.short.length);
    for (let i = 0; plan.length < runs; i++) plan.push(kinds.short[i % kinds.short.length]!());
    // Round one, before any fault: every destination exists.
    for (const c of await workload.commitAll()) accepted.push(await stack.push(c));
    await waitFor(async () => ((await stack.converged()) ? true : undefined), {
      what: "the first round applied",
      timeoutMs: 60_000,
    });
    await stack.plantOutsideKeys();
    sampler.start();
    for (const [n, fault] of plan.entries()) {
      faults[fault.kind] = (faults[fault.kind] ?? 0) + 1;
      const commits = await workload.commitAll();
      let recover: (() => Promise<void>) | undefined;
      let injected = Date.now();
      if (fault.before) recover = await fault.inject();
      // Webhooks are posted like a sender that retries until accepted: while the fault lasts some may
      // not be (a broker away answers 503), so they are awaited only once it is undone.
      const posting = [Promise.all(commits.map((c) => stack.push(c)))];
      if (!fault.before) {
        await delay(Math.floor(rnd() * 300));
        injected = Date.now();
        recover = await fault.inject();
        // A second round while the fault lasts (with the git host's folder away no commit can be made).
        posting.push(workload.commitAll().then((more) => Promise.all(more.map((c) => stack.push(c)))));
      }
      await delay(Math.max(0, fault.holdMs - (Date.now() - injected)));
      await recover!();
      const recovered = Date.now();
      for (const ids of await Promise.all(posting)) accepted.push(...ids);
      const done = await waitFor(
        async () => {
          if (!(await stack.converged())) return undefined;
          for (const id of accepted.slice(-4 * options.repos)) if (!(await stack.terminal(id))) return undefined;
          return true;
        },
        { what: `convergence after ${fault.kind}`, timeoutMs: options.convergeTimeoutMs, intervalMs: 250 },
      ).catch(() => false);
      const seconds = (Date.now() - recovered) / 1000;
      if (done) {
        converge.push(seconds);
        disrupted.push((Date.now() - injected) / 1000);
      } else lost += 1;
      log(
        JSON.stringify({ run: n + 1, fault: fault.kind, converged: done, seconds, regressions: sampler.regressions }),
      );
    }
    sampler.stop();
    await sampler.done;
    // Every 202 has a terminal task; count those that failed.
    let unfinished = 0;
    let failed = 0;
    for (const id of accepted) {
      const ended = await waitFor(async () => ((await stack.terminal(id)) ? true : undefined), {
        what: `task ${id}`,
        timeoutMs: 30_000,
      }).catch(() => false);
      if (!ended) unfinished += 1;
      else if ((await stack.task(id))?.state !== "SUCCEEDED") failed += 1;
    }
    const kafka = createKafka(stack.settings, createLogger("chaos", "silent"));
    const perScope = new Map<string, number>();
    for (const r of await readCommitted(kafka, topicNames(stack.settings.topicPrefix).keysets)) {
      if (!r.value) continue;
      const id = `${r.headers["task-id"]} ${r.key}`;
      perScope.set(id, (perScope.get(id) ?? 0) + 1);
    }
    const quantiles = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
      return { p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? 0 };
    };
    return {
      runs: plan.length,
      faults,
      accepted: accepted.length,
      lost: lost + unfinished,
      duplicated: [...perScope.values()].filter((n) => n > 1).length,
      regressions: sampler.regressions,
      regressed: sampler.regressed,
      failed_tasks: failed,
      outside_touched: sampler.outsideTouched,
      exits: Object.fromEntries(
        [...new Set(stack.exits.map((n) => n.replace(/-\d+$/, "")))].map((s) => [
          s,
          stack.exits.filter((n) => n.replace(/-\d+$/, "") === s).length,
        ]),
      ),
      converge_s: quantiles(converge),
      fault_s: quantiles(disrupted),
      backoff_cap_s: BACKOFF_MS / 1000,
    };
  } finally {
    sampler.stop();
    await stack.stop();
    await workload.cleanup();
  }
}

/** Reads every store's destinations over and over: a key's value may only grow; the outside key stays. */
class Sampler {
  regressions = 0;
  readonly regressed: string[] = [];
  outsideTouched = 0;
  done: Promise<void> = Promise.resolve();
  private running = false;
  private readonly seen = new Map<string, number>();
  private readonly stack: ChaosStack;
  private readonly workload: Workload;

  constructor(stack: ChaosStack, workload: Workload) {
    this.stack = stack;
    this.workload = workload;
  }

  start(): void {
    this.running = true;
    this.done = (async () => {
      while (this.running) {
        for (const [sink, { store }] of this.stack.stores) {
          for (const repo of this.workload.repos) {
            const held = await store.view.read(repo.fullName).catch(() => undefined);
            if (!held) continue;
            if (held[OUTSIDE_KEY] !== "untouched") this.outsideTouched += 1;
            for (const [key, value] of Object.entries(held)) {
              if (key === OUTSIDE_KEY) continue;
              const id = `${sink} ${repo.fullName} ${key}`;
              const round = Number(value);
              const before = this.seen.get(id) ?? 0;
              if (round < before) {
                this.regressions += 1;
                if (this.regressed.length < 20) this.regressed.push(`${id}: ${before} → ${round}`);
              } else this.seen.set(id, round);
            }
          }
        }
        await delay(300);
      }
    })();
  }

  stop(): void {
    this.running = false;
  }
}

// `node test/chaos/run.ts [--runs 200] [--sinks redis,postgres,file] [--long] [--seed N]`: the full run;
// prints one JSON line.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      runs: { type: "string", default: "200" },
      sinks: { type: "string", default: "redis,postgres" },
      repos: { type: "string", default: "3" },
      files: { type: "string", default: "3" },
      keys: { type: "string", default: "12" },
      long: { type: "boolean", default: false },
      seed: { type: "string", default: String(Date.now() % 100_000) },
    },
  });
  const sinks = values.sinks.split(",").filter((s): s is SinkKind => (SINK_KINDS as readonly string[]).includes(s));
  const broker =
    process.env.CHAOS_KAFKA_NAME && process.env.CHAOS_KAFKA_PORT
      ? {
          name: process.env.CHAOS_KAFKA_NAME,
          port: Number(process.env.CHAOS_KAFKA_PORT),
          brokers: `127.0.0.1:${process.env.CHAOS_KAFKA_PORT}`,
        }
      : undefined;
  const figures = await runChaos({
    runs: Number(values.runs),
    sinks,
    repos: Number(values.repos),
    files: Number(values.files),
    keys: Number(values.keys),
    long: values.long,
    seed: Number(values.seed),
    ...(broker ? { broker } : {}),
    convergeTimeoutMs: 15 * 60_000,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  console.log(JSON.stringify({ chaos: { ...figures, seed: Number(values.seed) } }));
  process.exit(0);
}
