// The entry module: requests the served bundle's first files (backend/prefetch.ts, which imports nothing heavy), then
// loads the code that reads them (app/early-load.ts, with the schema) and the app itself, side by side. The app
// starts the early load too (mount.tsx), so it comes first whichever of the two chunks arrives first.
import { prefetchServed } from './backend/prefetch.ts';

performance.mark('flowtape:start');
prefetchServed();
const failed = (err: unknown) => {
  const root = document.getElementById('root');
  if (root) root.textContent = `The flowtape viewer could not start: ${(err as Error).message}. Reload the page.`;
};
import('./app/early-load.ts').then((m) => m.startEarlyLoad(), failed);
import('./app/mount.tsx').catch(failed);
