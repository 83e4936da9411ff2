// Bundles published as a static site by `flowtape view --static` (recorder/src/tools/static-site.ts): the built app,
// a site index (flowtape-site.json) and each bundle's files, fetched over plain HTTP from any static host. Every URL
// is relative to the page, so the site works under any path prefix (a bucket sub-folder, a CI artifact link).
import { encodePath, FetchedFiles } from './fetched-files.ts';
import type { BundleBackend } from './types.ts';

/** The <meta name> the site writer adds to index.html; its content is the site index's relative URL. */
export const SITE_META = 'flowtape-site';
export const SITE_SCHEMA = 'flowtape.static-site.v1';

/** One published bundle (the writer's `SiteIndex` in recorder/src/tools/static-site.ts has the same shape). */
export interface SiteBundle {
  /** What the URL's `?run=` names; the run id. */
  id: string;
  /** The bundle's folder, relative to the site index. */
  path: string;
  /** Every file of the bundle, relative to `path` (a static host cannot list folders). */
  files: string[];
  complete: boolean;
  status?: string;
  /** For the run list of a multi-run site (from the bundle's manifest). */
  runId?: string;
  flow?: string;
  startedAt?: string;
  endedAt?: string;
  events?: number;
}

export interface SiteIndex {
  schema: typeof SITE_SCHEMA;
  name: string;
  bundles: SiteBundle[];
}

/** The site index's URL when this page is a static site, else undefined (served by `flowtape view`, or bare). */
export function siteIndexUrl(doc: Document = document): string | undefined {
  const href = doc.querySelector<HTMLMetaElement>(`meta[name="${SITE_META}"]`)?.content;
  return href ? new URL(href, doc.baseURI).toString() : undefined;
}

function isSiteIndex(value: unknown): value is SiteIndex {
  const v = value as SiteIndex | null;
  return (
    typeof v === 'object' && v !== null && v.schema === SITE_SCHEMA && typeof v.name === 'string' && Array.isArray(v.bundles) &&
    v.bundles.every((b) => typeof b?.id === 'string' && typeof b.path === 'string' && Array.isArray(b.files) && b.files.every((f) => typeof f === 'string'))
  );
}

export async function fetchSiteIndex(url: string): Promise<SiteIndex> {
  const name = url.split('/').pop() ?? url;
  let res: Response;
  try {
    res = await fetch(url, { cache: 'no-cache' });
  } catch (error) {
    throw new Error(`${name}: cannot be fetched (${(error as Error).message}): open the site over http(s)`);
  }
  if (!res.ok) throw new Error(`${name}: HTTP ${res.status} (the static site is incomplete: publish the whole folder)`);
  let value: unknown;
  try {
    value = await res.json();
  } catch {
    throw new Error(`${name}: not JSON (the host answered something else)`);
  }
  if (!isSiteIndex(value)) throw new Error(`${name}: not a ${SITE_SCHEMA} site index`);
  return value;
}

/** One bundle of a static site. Not live: a published bundle does not grow, so the loader never polls it. */
export class StaticBackend extends FetchedFiles implements BundleBackend {
  readonly live = false;
  readonly label: string;
  private readonly base: URL;
  private readonly files: Set<string>;

  constructor(indexUrl: string, readonly bundle: SiteBundle) {
    super();
    this.label = bundle.id;
    this.base = new URL(`${encodePath(bundle.path.replace(/\/+$/, ''))}/`, indexUrl);
    this.files = new Set(bundle.files);
  }

  urlOf(path: string): string {
    return new URL(encodePath(path), this.base).toString();
  }

  async list(): Promise<string[]> {
    return [...this.files].sort();
  }

  protected async get(path: string): Promise<Response | undefined> {
    // The index lists every file: no request for one it does not have (a host may answer those with a 200 page).
    if (!this.files.has(path)) return undefined;
    // Revalidate: a site published again at the same address must not be read half from the old one.
    const res = await fetch(this.urlOf(path), { cache: 'no-cache' });
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    return res;
  }

  async readFrom(path: string, offset: number): Promise<Uint8Array | undefined> {
    const bytes = await this.read(path);
    return bytes?.subarray(Math.min(offset, bytes.length));
  }
}
