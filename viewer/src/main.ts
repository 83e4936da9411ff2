// The entry module: starts loading the served bundle (app/early-load.ts), then loads the app itself.
import { startEarlyLoad } from './app/early-load.ts';

performance.mark('flowtape:start');
startEarlyLoad();
import('./app/mount.tsx').catch((err: unknown) => {
  const root = document.getElementById('root');
  if (root) root.textContent = `The flowtape viewer could not start: ${(err as Error).message}. Reload the page.`;
});
