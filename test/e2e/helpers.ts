// Shared setup for the viewer's browser tests: temporary bundle directories, the sample bundles shipped in
// samples/, a running viewer server and a browser page, torn down together.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TraceEvent } from '@flowtape/schema';
import { assertChromium, openSession, repoRoot, type BrowserSession } from './browser.ts';
import { startViewer } from './viewer-server.ts';
import { ViewerPage } from './viewer-page.ts';
import type { RunningViewer } from './viewer-server.ts';

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `flowtape-e2e-${prefix}-`));
}

/** Bundle directories under samples/ (any directory holding a manifest.json), for tests that run on them. */
export function sampleBundles(): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 4 || !existsSync(dir)) return;
    if (existsSync(join(dir, 'manifest.json'))) {
      out.push(dir);
      return;
    }
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (name !== 'node_modules' && statSync(p).isDirectory()) walk(p, depth + 1);
    }
  };
  walk(join(repoRoot, 'samples'), 0);
  return out.sort();
}

/** The trace of a bundle, parsed line by line (the test's own oracle, independent of the viewer). */
export function readTraceFile(bundle: string): TraceEvent[] {
  return readFileSync(join(bundle, 'trace.ndjson'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as TraceEvent];
      } catch {
        return [];
      }
    });
}

export interface ViewerHarness {
  server: RunningViewer;
  session: BrowserSession;
  viewer: ViewerPage;
  close(): Promise<void>;
}

export async function openViewer(root: string, session?: BrowserSession): Promise<ViewerHarness> {
  // No browser, no point building and serving the viewer: fail before any server runs (it would keep the test
  // process alive after the failure, as the test's after hook has no harness to close).
  if (!session) assertChromium();
  const server = await startViewer(root);
  let s: BrowserSession;
  try {
    s = session ?? (await openSession());
  } catch (error) {
    await server.close();
    throw error;
  }
  return {
    server,
    session: s,
    viewer: new ViewerPage(s.page, server.url),
    close: async () => {
      if (!session) await s.close();
      await server.close();
    },
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
