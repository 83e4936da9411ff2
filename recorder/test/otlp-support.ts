// A real OTLP/HTTP receiver for tests: OpenTelemetry's own TestCollector, bound to 127.0.0.1 only.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TestCollector, type TestSpan } from '@opentelemetry/contrib-test-utils';

export type { TestSpan };

export class LocalCollector extends TestCollector {
  /** On `port` (a collector back where it was, after a restart), else on any free one. */
  constructor(private readonly port = 0) {
    super();
  }

  override async start(): Promise<void> {
    const http = this['_http'] as ReturnType<typeof createServer>;
    await new Promise<void>((resolve) => http.listen(this.port, '127.0.0.1', resolve));
    this.endpointUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const http = this.close();
    http.closeAllConnections();
    await new Promise<void>((resolve) => (http.listening ? http.once('close', () => resolve()) : resolve()));
  }
}

export async function startCollector(port?: number): Promise<LocalCollector> {
  const collector = new LocalCollector(port);
  await collector.start();
  return collector;
}

/** A 127.0.0.1 port nothing listens on (bound, then closed): a collector that is down. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** An attribute of a received span as a plain value (OTLP JSON wraps each in {stringValue|intValue|…}). */
export function attr(span: TestSpan, key: string): unknown {
  const found = span.attributes.find((a) => a.key === key);
  if (!found) return undefined;
  return plain(found.value as Record<string, unknown>);
}

function plain(value: Record<string, unknown>): unknown {
  if ('stringValue' in value) return value.stringValue;
  if ('intValue' in value) return Number(value.intValue);
  if ('doubleValue' in value) return value.doubleValue;
  if ('boolValue' in value) return value.boolValue;
  if ('arrayValue' in value) return ((value.arrayValue as { values?: Record<string, unknown>[] }).values ?? []).map(plain);
  return value;
}

/** The span tree as `name <- parent name` lines, in a stable order (by start, then name). */
export function tree(spans: readonly TestSpan[]): string[] {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  return [...spans]
    .sort((a, b) => (BigInt(a.startTimeUnixNano as string) < BigInt(b.startTimeUnixNano as string) ? -1 : BigInt(a.startTimeUnixNano as string) > BigInt(b.startTimeUnixNano as string) ? 1 : a.name.localeCompare(b.name)))
    .map((s) => `${s.name} <- ${s.parentSpanId ? (byId.get(s.parentSpanId)?.name ?? '?') : '-'}`);
}

/** Spans in a comparable form: sorted by id, without what the receiver added. */
export function comparable(spans: readonly TestSpan[]): unknown[] {
  return [...spans]
    .sort((a, b) => String(a.spanId).localeCompare(String(b.spanId)))
    .map(({ resource, instrumentationScope, ...span }) => ({ ...span, resource: JSON.stringify(resource), scope: JSON.stringify(instrumentationScope) }));
}
