/**
 * The viewer app part of a static site (`flowtape view --static`): the prebuilt app copied as it is, and its
 * index.html told where the site index is. The app's asset URLs are relative (viewer/vite.config.ts), so the site
 * works under any path prefix.
 */
import { copyFile, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The <meta> the viewer looks for (viewer/src/backend/static.ts, SITE_META) and the index file it names. */
export const SITE_META = 'flowtape-site';
export const SITE_INDEX = 'flowtape-site.json';

/**
 * The viewer server's policy (`csp`, its APP_CSP), as a <meta>: a static host sends no headers of ours, and the page
 * shows text written by agents. frame-ancestors cannot be set from a <meta>: left out.
 */
export function siteCsp(csp: string): string {
  return csp.split(';').map((d) => d.trim()).filter((d) => d !== '' && !d.startsWith('frame-ancestors')).join('; ');
}

export class AppMissingError extends Error {
  override name = 'StaticSiteError';
}

/** The app's files, relative to its folder: everything but dot files (the build stamp). index.html is not included. */
export async function appFiles(appDir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for (const entry of await readdir(join(appDir, rel), { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() && path !== 'index.html') out.push(path);
    }
  };
  await walk('');
  return out.sort();
}

/** index.html with the site's <meta>s first in <head> (a CSP <meta> only governs what follows it). */
export function siteIndexHtml(html: string, csp: string): string {
  const head = /<head[^>]*>/i.exec(html);
  if (!head) throw new AppMissingError('the viewer app\'s index.html has no <head>: rebuild the viewer');
  const metas =
    `\n    <meta http-equiv="Content-Security-Policy" content="${siteCsp(csp)}" />` +
    `\n    <meta name="${SITE_META}" content="${SITE_INDEX}" />`;
  const at = head.index + head[0].length;
  // Shown until the app renders over it: all a browser shows of a site opened as file:// (its module scripts do not load).
  const waiting =
    '<div id="root"><p class="center-message" data-testid="site-waiting">Loading the flowtape viewer… If this stays, ' +
    'the site was opened as a file: serve its folder over http(s) (e.g. <code>python3 -m http.server -d &lt;folder&gt;</code>) and open it there.</p></div>';
  return (html.slice(0, at) + metas + html.slice(at)).replace('<div id="root"></div>', waiting);
}

/** Copies the app (not index.html: written last, by writeAppIndex) into `output`; returns the files and bytes. */
export async function copyApp(appDir: string, output: string): Promise<{ files: number; bytes: number }> {
  let bytes = 0;
  const files = await appFiles(appDir);
  for (const path of files) {
    const to = join(output, ...path.split('/'));
    await mkdir(join(to, '..'), { recursive: true });
    await copyFile(join(appDir, ...path.split('/')), to, 1 /* COPYFILE_EXCL: never replace */);
    bytes += (await stat(to)).size;
  }
  return { files: files.length, bytes };
}

/** The site's entry point, written last: a site without it is visibly not a site. */
export async function writeAppIndex(appDir: string, output: string, csp: string): Promise<number> {
  const html = siteIndexHtml(await readFile(join(appDir, 'index.html'), 'utf8'), csp);
  await writeFile(join(output, 'index.html'), html, { flag: 'wx' });
  return Buffer.byteLength(html);
}
