/**
 * Whether anyone listens where spans would go, asked with one TCP connection from the run's own thread (no
 * OpenTelemetry code): live export's worker may still be loading when a short run ends, and a collector that is
 * not there must not make the run wait for it.
 */
import { connect } from 'node:net';

/**
 * Connection errors that say no collector is there (not a slow or busy one). Not ECONNRESET: a kept-alive socket the
 * collector closed while idle resets too, and the next request simply opens a new one.
 */
export const UNREACHABLE_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * The reason (e.g. `connect ECONNREFUSED 127.0.0.1:4318`) when no one listens at `url`; undefined when a connection
 * was made, or no answer came within `timeoutMs` (a slow network is not a missing collector).
 */
export function unreachableReason(url: string, timeoutMs = 1000): Promise<string | undefined> {
  const { hostname, port, protocol } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port) || (protocol === 'https:' ? 443 : 80) });
    const done = (reason: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(reason);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    timer.unref();
    socket.once('connect', () => done(undefined));
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code && UNREACHABLE_CODES.has(error.code) ? error.message.split('\n')[0] : undefined));
  });
}
