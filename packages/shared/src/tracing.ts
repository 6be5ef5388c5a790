import {
  type Attributes,
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, type SpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import type { IHeaders } from "kafkajs";

/**
 * Tracing across the pipeline: ingest starts a task's trace, its W3C trace context travels in the
 * `traceparent` header of the `webhooks` record, the ETL continues it and passes it on in each `keysets`
 * record, and every sink's apply is a span of the same trace. Spans are exported over OTLP/HTTP when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set; otherwise they cost
 * nothing (the API's no-op tracer), and the headers are still carried.
 */
const tracer = trace.getTracer("varstream");

let apiInstalled = false;

/** The context manager (spans follow async calls) and the W3C propagator, once per process. */
function installApi(): void {
  if (apiInstalled) return;
  apiInstalled = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}

/**
 * Sets tracing up for a process named `service`: OTLP export when the environment asks for it, or the
 * given span processors (tests: an in-memory exporter). Returns the provider (to flush at shutdown), or
 * undefined when nothing is exported.
 */
export function startTracing(
  service: string,
  env: Record<string, string | undefined> = process.env,
  processors?: SpanProcessor[],
): TracerProvider | undefined {
  installApi();
  const exporting = env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const spanProcessors =
    processors ?? (exporting ? [new BatchSpanProcessor({ exporter: new OTLPTraceExporter() })] : []);
  if (spanProcessors.length === 0) return undefined;
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": env.OTEL_SERVICE_NAME ?? service }),
    spanProcessors,
  });
  trace.setGlobalTracerProvider(provider);
  return provider;
}

/** The trace context of `ctx` (default: the active one) as Kafka headers (`traceparent`, `tracestate`). */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** The trace context a record carries in its headers (none: a new trace begins). */
export function contextFromHeaders(headers: IHeaders | undefined): Context {
  return propagation.extract(ROOT_CONTEXT, headers ?? {}, {
    keys: (carrier) => Object.keys(carrier),
    get: (carrier, key) => {
      const value = carrier[key];
      if (value === undefined) return undefined;
      return Array.isArray(value) ? value.map(String) : String(value);
    },
  });
}

/**
 * Runs `fn` in a span named `name`, child of `parent` (default: the active context); the span records a
 * thrown error and ends when `fn` settles.
 */
export function inSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  parent: Context = context.active(),
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  return tracer.startActiveSpan(name, { attributes, kind }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}

export { SpanKind };
