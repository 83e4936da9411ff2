/**
 * Where spans go: the one small interface is the OpenTelemetry SDK's own SpanExporter, so the OTLP/HTTP exporters
 * (JSON or protobuf), the file exporter and anything a user brings are interchangeable. This module picks one
 * from the options and the standard OTEL_EXPORTER_OTLP_* environment variables, and makes the resource and scope
 * every flowtape span carries.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { OtlpFileExporter } from './otlp-file-exporter.ts';
import { OutageExporter } from './otlp-outages.ts';
import { describeTarget, OtlpConfigError, protocolOf, tracesUrl, type OtlpTarget } from './otlp-target.ts';

export { OtlpConfigError, parseHeaders, type OtlpProtocol, type OtlpTarget } from './otlp-target.ts';

type Env = Record<string, string | undefined>;

export interface ChosenExporter {
  exporter: SpanExporter;
  /** Where the spans go, for messages: the URL and protocol, or the file. */
  target: string;
}

/** The exporter for a target; an OtlpConfigError when nothing says where spans should go. */
export async function createSpanExporter(target: OtlpTarget, env: Env = process.env): Promise<ChosenExporter> {
  if (target.file) {
    // Refused before any work (the exporter's exclusive create at the end stays the guard against a race).
    if (existsSync(target.file)) throw new OtlpConfigError(`${target.file} exists: give a new file (an export never replaces one)`);
    return { exporter: new OtlpFileExporter(target.file), target: target.file };
  }
  describeTarget(target, env);
  const url = tracesUrl(target, env)!;
  const protocol = protocolOf(target, env);
  const config = {
    url,
    ...(target.headers && Object.keys(target.headers).length > 0 ? { headers: target.headers } : {}),
    // Unset: the SDK reads OTEL_EXPORTER_OTLP_TRACES_TIMEOUT / OTEL_EXPORTER_OTLP_TIMEOUT (default 10 s).
    ...(target.timeoutMs !== undefined ? { timeoutMillis: target.timeoutMs } : {}),
  };
  // Each protocol's exporter is loaded only when used: a run without export loads neither.
  const { OTLPTraceExporter } = protocol === 'http/json' ? await import('@opentelemetry/exporter-trace-otlp-http') : await import('@opentelemetry/exporter-trace-otlp-proto');
  // Retries, outages and a dead collector handled as otlp-outages.ts says, in place of the SDK's retries.
  const exporter = new OutageExporter(new OTLPTraceExporter(config));
  return { exporter, target: `${url} (${protocol})` };
}

const VERSION = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
})();

/** The instrumentation scope of every flowtape span. */
export const FLOWTAPE_SCOPE = { name: '@flowtape/recorder', version: VERSION };

/** The resource of every flowtape span: `service.name` from OTEL_SERVICE_NAME, else `flowtape`. */
export function flowtapeResource(env: Env = process.env): Resource {
  return resourceFromAttributes({
    [ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME?.trim() || 'flowtape',
    [ATTR_SERVICE_VERSION]: VERSION,
  });
}
