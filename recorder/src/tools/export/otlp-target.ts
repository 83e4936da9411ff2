/**
 * Where spans go, as the user said it (options, `--endpoint`, `--protocol`, `--header`) or the standard
 * OTEL_EXPORTER_OTLP_* variables: checked and resolved here, with no OpenTelemetry code loaded, so a run refuses a
 * bad target before it starts at no cost.
 */
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

export interface OtlpTarget {
  /**
   * The collector: a base URL (`http://collector:4318`, `/v1/traces` is added) or the full traces URL. Default:
   * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (as is) or OTEL_EXPORTER_OTLP_ENDPOINT (+ `/v1/traces`).
   */
  endpoint?: string;
  /** Default: OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, OTEL_EXPORTER_OTLP_PROTOCOL, else `http/protobuf` (OTLP's default). */
  protocol?: OtlpProtocol;
  /** Extra HTTP headers (added to OTEL_EXPORTER_OTLP_HEADERS, which the SDK reads itself). */
  headers?: Record<string, string>;
  /** Write OTLP JSON lines to this file instead (what a Collector's `otlpjsonfile` receiver reads). */
  file?: string;
  /** Time for one export request, retries included (default: OTEL_EXPORTER_OTLP_TIMEOUT, else 10 s). */
  timeoutMs?: number;
}

export class OtlpConfigError extends Error {
  override name = 'OtlpConfigError';
}

type Env = Record<string, string | undefined>;

const TRACES_PATH = '/v1/traces';

export function protocolOf(target: OtlpTarget, env: Env): OtlpProtocol {
  // An empty variable counts as unset, as OpenTelemetry's configuration rules say.
  const value = target.protocol ?? (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?.trim() || env.OTEL_EXPORTER_OTLP_PROTOCOL?.trim() || 'http/protobuf');
  if ((OTLP_PROTOCOLS as readonly string[]).includes(value)) return value as OtlpProtocol;
  throw new OtlpConfigError(`OTLP protocol ${JSON.stringify(value)} is not supported: use ${OTLP_PROTOCOLS.join(' or ')}`);
}

/** The traces URL for a target, or undefined when neither the options nor the environment name one. */
export function tracesUrl(target: OtlpTarget, env: Env = process.env): string | undefined {
  const base = (url: string) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new OtlpConfigError(`OTLP endpoint ${JSON.stringify(url)} is not a URL (e.g. http://localhost:4318)`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new OtlpConfigError(`OTLP endpoint ${url}: only http and https are supported (OTLP/HTTP)`);
    }
    return parsed;
  };
  if (target.endpoint) {
    const url = base(target.endpoint);
    if (!url.pathname.endsWith(TRACES_PATH)) url.pathname = `${url.pathname.replace(/\/+$/, '')}${TRACES_PATH}`;
    return url.toString();
  }
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return base(traces).toString();
  const general = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (general) {
    const url = base(general);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}${TRACES_PATH}`;
    return url.toString();
  }
  return undefined;
}

/** Where spans of a target go (for messages); an OtlpConfigError when nothing says where, or says it wrongly. */
export function describeTarget(target: OtlpTarget, env: Env = process.env): string {
  if (target.file) return target.file;
  const url = tracesUrl(target, env);
  if (!url) {
    throw new OtlpConfigError('no OTLP endpoint: give --endpoint URL or -o file.json, or set OTEL_EXPORTER_OTLP_ENDPOINT');
  }
  return `${url} (${protocolOf(target, env)})`;
}

/** `k=v` pairs (from `--header`) as a header object; a clear error for a malformed one. */
export function parseHeaders(pairs: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new OtlpConfigError(`--header ${JSON.stringify(pair)}: expected name=value`);
    headers[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return headers;
}

