// Starts the viewer server for a test the way `flowtape view` does, building the app first when viewer/dist
// is missing or stale (CI runs the tests on a clean clone).
import { ensureViewerBuilt } from '../../viewer/server/ensure-built.ts';
import { startViewerServer, type ViewerServer } from '../../viewer/server/serve.ts';

export async function startViewer(root: string): Promise<ViewerServer> {
  ensureViewerBuilt();
  return startViewerServer({ root, host: '127.0.0.1', port: 0 });
}
