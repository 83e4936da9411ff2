// Glue for the compare page: opens both bundles the server serves (runs `a` and `b`), loads each with the viewer's
// loader, and runs the one diff engine (@flowtape/schema/diff) on them with the options and volatile roots the CLI
// uses, so the page lists exactly what `flowtape diff` prints.
import { diffBundleSides, type DiffSide } from '@flowtape/schema/diff';
import type { BundleBackend } from '../backend/types.ts';
import { HttpBackend, fetchServedZip, type CompareInfo, type CompareSideInfo } from '../backend/http.ts';
import { zipSource } from '../backend/zip.ts';
import { loadBundle, schemaBackend } from '../model/loader.ts';
import { buildCompareModel, type CompareModel } from '../model/compare.ts';
import { resourcesFor } from './open-bundle.ts';
import type { Resources } from '../ui/resources.tsx';

async function backendFor(side: CompareSideInfo): Promise<BundleBackend> {
  if (side.kind === 'dir') return new HttpBackend(side.run, side.location);
  const source = await zipSource(side.location, await fetchServedZip(side.run));
  return source.open(source.bundles[0] ?? '');
}

export interface OpenedCompare {
  model: CompareModel;
  resources: Record<'a' | 'b', Resources>;
}

export async function openCompare(info: CompareInfo, onStage?: (stage: string) => void): Promise<OpenedCompare> {
  const [ba, bb] = await Promise.all([backendFor(info.a), backendFor(info.b)]);
  onStage?.('reading both bundles');
  const [la, lb] = await Promise.all([loadBundle(ba), loadBundle(bb)]);
  const fatal = la.model.fatal ?? lb.model.fatal;
  if (fatal) throw new Error(fatal);
  onStage?.('comparing');
  const side = (s: CompareSideInfo, backend: BundleBackend): DiffSide => ({
    location: s.location,
    open: async () => ({ backend: schemaBackend(backend), dir: s.dir }),
  });
  const result = await diffBundleSides(side(info.a, ba), side(info.b, bb), {
    machine: info.machine,
    ...(info.options.ignore ? { ignore: info.options.ignore } : {}),
    ...(info.options.usage !== undefined ? { usage: info.options.usage } : {}),
    ...(info.options.maxDetails !== undefined ? { maxDetails: info.options.maxDetails } : {}),
  });
  const roots = { dirs: { a: info.a.dir, b: info.b.dir }, machine: info.machine };
  return { model: buildCompareModel(la.model, lb.model, result, roots), resources: { a: resourcesFor(ba), b: resourcesFor(bb) } };
}
