// The read-only HTTP server behind `flowtape view`: serves the built viewer app and the files of one bundle,
// a runs-root (many bundles) or a packed `.zip`, on loopback only.
//
// Routes (GET/HEAD only):
//   /                      the app (dist/app/index.html); /assets/* its hashed assets
//   /api/info              { mode: 'bundle' | 'runs' | 'zip', name }
//   /api/runs              run summaries (runs-root; a one-element list for a bundle)
//   /api/list?run=<id>     relative paths of every file in one bundle
//   /files/<run>/<path>    one bundle file; byte ranges, and ?from=N for live tailing; run '' = the bundle root
//   /bundle.zip            the packed bundle (zip mode)
//   compare mode (two bundles): runs `a` and `b` under /files/ and /api/list; /zip/a, /zip/b for packed ones;
//                          /api/info also carries what the page's diff needs (compare.ts)
//
// Safety: binds 127.0.0.1, answers only to Host headers naming that address or localhost at its port
// (DNS-rebinding defence), resolves every path through realpath and refuses anything outside the served
// directory, never lists directories, and sends bundle bytes with a sandboxing CSP so an artifact opened
// directly cannot run script in the viewer's origin.
import { createReadStream, existsSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { basename, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveInside } from './safe-path.ts';
import { listBundleFiles, listRuns, runDirFor } from './runs.ts';
import { resolveCompare, type CompareInput, type CompareSide } from './compare.ts';

export interface ViewerServerOptions {
  /** A bundle directory, a runs-root directory (bundles below it), or a bundle `.zip`. */
  root: string;
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Loopback only; the option exists so callers state it explicitly. */
  host?: '127.0.0.1';
  /** The built app; defaults to viewer/dist next to this file. */
  distDir?: string;
  /** Compare two bundles (`root` is then ignored): served as runs `a` and `b`. */
  compare?: CompareInput;
  /** `os.tmpdir()` and `os.homedir()`: told to the page of a runs-root, which diffs two picked runs as the CLI would. */
  machine?: { tmpDir?: string; homeDir?: string };
}

export interface ViewerServer {
  url: string;
  port: number;
  mode: ServeMode;
  close(): Promise<void>;
}

export type ServeMode = 'bundle' | 'runs' | 'zip' | 'compare';
export type { CompareInfo, CompareInput } from './compare.ts';

export class ViewerServerError extends Error {
  override name = 'ViewerServerError';
}

/**
 * The built app. In the published package it sits beside this file's folder (dist/server/ → dist/app/); running
 * from the repository's sources it is viewer/dist/app/.
 */
export const defaultDistDir =
  [new URL('../app/', import.meta.url), new URL('../dist/app/', import.meta.url)]
    .map((url) => fileURLToPath(url))
    .find((dir) => existsSync(join(dir, 'index.html'))) ?? fileURLToPath(new URL('../dist/app/', import.meta.url));

/** The app's Content-Security-Policy (also what `flowtape view --static` puts in its site's index.html). */
export const APP_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');

const FILE_CSP = "sandbox; default-src 'none'";

const APP_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
};

// Bundle files are data, never documents: nothing served from /files is given an executable type.
const FILE_TYPES: Record<string, string> = {
  '.json': 'application/json; charset=utf-8',
  '.ndjson': 'application/x-ndjson; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.log': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  // Images an agent sent (record.json's content items): raster types only, decoded by <img>, never a document.
  // An SVG artifact is stored as `.bin` and served as octet-stream.
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
};

/** A bundle directory: it has a manifest, or — a run that died before writing one — a trace. */
export function isBundleDir(dir: string): boolean {
  return existsSync(join(dir, 'manifest.json')) || existsSync(join(dir, 'trace.ndjson'));
}

/** What kind of thing `root` is: a bundle, a runs-root (any other dir) or a zip. */
export async function detectMode(root: string): Promise<ServeMode> {
  let st;
  try {
    st = await stat(root);
  } catch {
    throw new ViewerServerError(`${root}: no such file or directory`);
  }
  if (st.isFile()) {
    if (extname(root).toLowerCase() === '.zip') return 'zip';
    throw new ViewerServerError(`${root}: not a bundle directory, runs directory or .zip`);
  }
  if (!st.isDirectory()) throw new ViewerServerError(`${root}: not a directory`);
  return isBundleDir(root) ? 'bundle' : 'runs';
}

export async function startViewerServer(options: ViewerServerOptions): Promise<ViewerServer> {
  const host = options.host ?? '127.0.0.1';
  if (host !== '127.0.0.1') throw new ViewerServerError(`refusing to listen on ${String(host)}: loopback only`);
  const resolved = options.compare ? await resolveCompare(options.compare) : undefined;
  if (typeof resolved === 'string') throw new ViewerServerError(resolved);
  const compare = resolved;
  const mode: ServeMode = compare ? 'compare' : await detectMode(options.root);
  const rootReal = compare ? compare.a.real : await realpath(options.root);
  const compareSide = (run: string): CompareSide | undefined => (run === 'a' ? compare?.a : run === 'b' ? compare?.b : undefined);
  const distDir = options.distDir ?? defaultDistDir;
  if (!existsSync(join(distDir, 'index.html'))) {
    throw new ViewerServerError(`the viewer app is not built (${join(distDir, 'index.html')} missing): run \`pnpm build\``);
  }
  const distReal = await realpath(distDir);
  let allowedHosts = new Set<string>();

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `internal error: ${(err as Error).message}`);
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    if (!allowedHosts.has((req.headers.host ?? '').toLowerCase())) {
      return send(res, 403, 'text/plain; charset=utf-8', 'forbidden: unexpected Host header');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed: the viewer server is read-only');
    }
    const rawUrl = req.url ?? '/';
    // Refuse dot-segments before URL normalisation could silently collapse them.
    const rawPath = rawUrl.split('?')[0] ?? '/';
    let decodedPath: string;
    try {
      decodedPath = decodeURIComponent(rawPath);
    } catch {
      return send(res, 400, 'text/plain; charset=utf-8', 'bad request: malformed percent-encoding');
    }
    if (/(^|\/)\.\.(\/|$)/.test(decodedPath) || decodedPath.includes('\\') || decodedPath.includes('\0')) {
      return send(res, 403, 'text/plain; charset=utf-8', 'forbidden: path leaves the served directory');
    }
    const url = new URL(rawUrl, 'http://127.0.0.1');
    const path = decodedPath;

    if (path === '/' || path === '/index.html') {
      return sendFile(req, res, join(distReal, 'index.html'), APP_TYPES['.html']!, { csp: APP_CSP, cache: 'no-store' });
    }
    if (path.startsWith('/assets/') || path === '/favicon.svg') {
      const r = await resolveInside(distReal, path.slice(1));
      if (!r.ok) return send(res, r.status, 'text/plain; charset=utf-8', r.reason);
      const type = APP_TYPES[extname(r.file)] ?? 'application/octet-stream';
      return sendFile(req, res, r.file, type, { csp: APP_CSP, cache: 'public, max-age=31536000, immutable' });
    }
    if (path === '/api/info') {
      if (compare) return sendJson(res, { mode, name: `${compare.info.a.location} ⇄ ${compare.info.b.location}`, compare: compare.info });
      // A runs-root's page can compare two of its runs: it needs where they are, as `flowtape diff` would name them.
      if (mode === 'runs') return sendJson(res, { mode, name: basename(rootReal), root: options.root, machine: options.machine ?? {} });
      return sendJson(res, { mode, name: basename(rootReal) });
    }
    if (mode === 'compare') {
      const m = /^\/(files|zip)\/(a|b)(?:\/(.*))?$/.exec(path) ?? (path === '/api/list' ? ['', 'list', url.searchParams.get('run') ?? ''] : null);
      const served = m ? compareSide(m[2] ?? '') : undefined;
      if (!m || !served) return send(res, 404, 'text/plain; charset=utf-8', 'not found');
      if (m[1] === 'zip') {
        if (served.kind !== 'zip' || m[3] !== undefined) return send(res, 404, 'text/plain; charset=utf-8', 'not found');
        return sendFile(req, res, served.real, 'application/zip', { csp: FILE_CSP, cache: 'no-store' });
      }
      if (served.kind !== 'dir') return send(res, 404, 'text/plain; charset=utf-8', 'not found: a packed bundle is served at /zip/');
      if (m[1] === 'list') return sendJson(res, { files: await listBundleFiles(served.real) });
      const r = await resolveInside(served.real, m[3] ?? '');
      if (!r.ok) return send(res, r.status, 'text/plain; charset=utf-8', `${r.status === 403 ? 'forbidden' : 'not found'}: ${r.reason}`);
      const type = FILE_TYPES[extname(r.file).toLowerCase()] ?? 'application/octet-stream';
      return sendFile(req, res, r.file, type, { csp: FILE_CSP, cache: 'no-store', ranges: true });
    }
    if (path === '/api/runs') {
      if (mode === 'zip') return sendJson(res, { runs: [] });
      return sendJson(res, { runs: await listRuns(rootReal, mode as 'bundle' | 'runs') });
    }
    if (path === '/api/list') {
      if (mode === 'zip') return send(res, 404, 'text/plain; charset=utf-8', 'not found: zip mode has no file list');
      const run = url.searchParams.get('run') ?? '';
      const dir = await runDirFor(rootReal, mode as 'bundle' | 'runs', run);
      if (!dir.ok) return send(res, dir.status, 'text/plain; charset=utf-8', dir.reason);
      return sendJson(res, { files: await listBundleFiles(dir.dir) });
    }
    if (path.startsWith('/files/')) {
      if (mode === 'zip') return send(res, 404, 'text/plain; charset=utf-8', 'not found');
      const r = await resolveInside(rootReal, path.slice('/files/'.length));
      if (!r.ok) return send(res, r.status, 'text/plain; charset=utf-8', `${r.status === 403 ? 'forbidden' : 'not found'}: ${r.reason}`);
      const type = FILE_TYPES[extname(r.file).toLowerCase()] ?? 'application/octet-stream';
      const from = url.searchParams.get('from');
      const fromOffset = from !== null && /^\d+$/.test(from) ? Number(from) : undefined;
      return sendFile(req, res, r.file, type, { csp: FILE_CSP, cache: 'no-store', ranges: true, from: fromOffset });
    }
    if (path === '/bundle.zip' && mode === 'zip') {
      return sendFile(req, res, rootReal, 'application/zip', { csp: FILE_CSP, cache: 'no-store' });
    }
    return send(res, 404, 'text/plain; charset=utf-8', 'not found');
  }

  const port = await new Promise<number>((resolvePort, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(new ViewerServerError(err.code === 'EADDRINUSE'
        ? `port ${options.port} on ${host} is already in use (try --port 0 for a free one)`
        : `cannot listen on ${host}:${options.port ?? 0}: ${err.message}`));
    });
    server.listen(options.port ?? 0, host, () => {
      const addr = server.address();
      resolvePort(typeof addr === 'object' && addr ? addr.port : 0);
    });
  });
  allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  server.keepAliveTimeout = 2000;

  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    mode,
    close: () => new Promise<void>((done) => {
      server.close(() => done());
      server.closeAllConnections();
    }),
  };
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Cache-Control', 'no-store');
  res.end(body);
}

function sendJson(res: ServerResponse, value: unknown): void {
  send(res, 200, 'application/json; charset=utf-8', JSON.stringify(value));
}

interface FileOpts {
  csp: string;
  cache: string;
  ranges?: boolean;
  /** `?from=N`: the bytes from offset N to the end, with 200 — empty when nothing was appended (live tailing
   * without the 416 a Range past the end would get). */
  from?: number;
}

async function sendFile(req: IncomingMessage, res: ServerResponse, file: string, type: string, opts: FileOpts): Promise<void> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch {
    return send(res, 404, 'text/plain; charset=utf-8', 'not found');
  }
  res.setHeader('Content-Type', type);
  res.setHeader('Content-Security-Policy', opts.csp);
  res.setHeader('Cache-Control', opts.cache);
  let start = opts.from !== undefined ? Math.min(opts.from, size) : 0;
  let end = size - 1;
  res.setHeader('X-File-Size', String(size));
  const range = opts.ranges && opts.from === undefined ? req.headers.range : undefined;
  if (opts.ranges) res.setHeader('Accept-Ranges', 'bytes');
  if (range) {
    const m = /^bytes=(\d+)-(\d*)$/.exec(range.trim());
    if (!m) {
      res.setHeader('Content-Range', `bytes */${size}`);
      return send(res, 416, 'text/plain; charset=utf-8', 'range not satisfiable');
    }
    start = Number(m[1]);
    end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
    if (start >= size || end < start) {
      res.setHeader('Content-Range', `bytes */${size}`);
      return send(res, 416, 'text/plain; charset=utf-8', 'range not satisfiable');
    }
    res.statusCode = 206;
    res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
  } else {
    res.statusCode = 200;
  }
  const length = Math.max(0, end - start + 1);
  res.setHeader('Content-Length', String(length));
  if (req.method === 'HEAD' || length === 0) {
    res.end();
    return;
  }
  await new Promise<void>((done, fail) => {
    const stream = createReadStream(file, { start, end });
    stream.on('error', fail);
    res.on('close', () => { stream.destroy(); done(); });
    stream.pipe(res);
  });
}
