// Fetches a served trace off the main thread (backend/trace-text.ts): the page's thread gets runs of whole lines and
// only decodes, splits and parses them. What the page saves is mostly reading the response itself (hundreds of small
// chunks, a promise each). The runs are posted as bytes, transferred: a posted string is copied into the page's heap,
// which costs the page more than decoding the bytes there (one TextDecoder call per run). A 100k-event load (26 MB):
// 200–300 ms less of the main thread's CPU; 1M: ~2.3 s less.
// The worker stays at most AHEAD bytes ahead of what the page has taken, so a slow page is not handed the whole file
// at once.
import { ByteLineCutter, sizeOf } from './text-chunks.ts';

/** What the page sends: the URL to read, then how many bytes it has taken. A page that wants no more terminates the worker. */
export type TraceTextRequest = { url: string } | { taken: number };
/**
 * What the worker sends: the response status first (with the body's length when the headers give it; or the failure
 * to get a response), then runs of whole lines (the last one, `last`, the unterminated rest of the file), then the end.
 */
export type TraceTextMessage =
  | { status: number; size?: number }
  | { run: Uint8Array; last?: boolean }
  | { done: true }
  | { error: string };

const AHEAD = 8 << 20;
let sent = 0;
let taken = 0;
let wake: (() => void) | undefined;

const post = (m: TraceTextMessage, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(m, transfer);

function send(run: Uint8Array | undefined, last?: boolean): void {
  if (!run) return;
  sent += run.length;
  post(last ? { run, last } : { run }, [run.buffer]);
}

async function read(url: string): Promise<void> {
  const res = await fetch(url, { cache: 'no-store' });
  const size = sizeOf(res.headers);
  post(size === undefined ? { status: res.status } : { status: res.status, size });
  if (!res.ok || !res.body) return;
  const reader = res.body.getReader();
  const cutter = new ByteLineCutter();
  for (;;) {
    while (sent - taken > AHEAD) await new Promise<void>((resolve) => { wake = resolve; });
    const { done, value } = await reader.read();
    if (done) break;
    send(cutter.push(value));
  }
  send(cutter.end(), true);
  post({ done: true });
}

self.onmessage = (e: MessageEvent<TraceTextRequest>) => {
  const m = e.data;
  if ('url' in m) {
    read(m.url).catch((err: unknown) => post({ error: (err as Error)?.message ?? String(err) }));
  } else {
    taken = m.taken;
  }
  wake?.();
  wake = undefined;
};
