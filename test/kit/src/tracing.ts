import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace";
import { startTracing } from "@varstream/shared";

/**
 * Every span this process ends, kept in memory (the SDK's in-memory exporter): the services of a
 * one-process pipeline share it, and their spans still meet only through the Kafka records' headers.
 */
export function traceToMemory(): { spans(): ReadableSpan[]; reset(): void } {
  const exporter = new InMemorySpanExporter();
  startTracing("varstream-test", {}, [new SimpleSpanProcessor({ exporter })]);
  return { spans: () => exporter.getFinishedSpans(), reset: () => exporter.reset() };
}
