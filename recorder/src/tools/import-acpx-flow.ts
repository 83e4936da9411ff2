// acpx's flow.json (either form) as a flowtape flow.json: node types mapped, acpx's own node specs kept in metadata.
import { join } from 'node:path';
import { describeZodError, FlowSnapshot, SCHEMA_IDS } from '@flowtape/schema';
import { asObject, ImportError, str, type Json } from './import-acpx-values.ts';

export function convertAcpxFlow(doc: Json, manifest: Json, label: string, warn: (message: string) => void): FlowSnapshot {
  const nodes = asObject(doc.nodes) ?? {};
  const specs: unknown[] = [];
  for (const [id, raw] of Object.entries(nodes)) {
    const node = asObject(raw) ?? {};
    const type = str(node.nodeType) ?? str(node.kind);
    const common = {
      id,
      ...(typeof node.timeoutMs === 'number' && node.timeoutMs > 0 ? { timeoutMs: node.timeoutMs } : {}),
      ...(typeof node.heartbeatMs === 'number' && node.heartbeatMs > 0 ? { heartbeatMs: node.heartbeatMs } : {}),
      ...(str(node.statusDetail) ? { description: node.statusDetail as string } : {}),
    };
    switch (type) {
      case 'acp': {
        const session = asObject(node.session) ?? {};
        specs.push({
          ...common,
          nodeType: 'acp',
          sessionHandle: str(session.handle) ?? 'main',
          sessionMode: session.isolated === true ? 'isolated' : 'shared',
        });
        break;
      }
      case 'action':
        specs.push({ ...common, nodeType: 'action', actionType: node.actionExecution === 'function' || node.hasExec === false ? 'function' : 'shell' });
        break;
      case 'checkpoint':
        specs.push({ ...common, nodeType: 'checkpoint', ...(str(node.summary) ? { message: node.summary } : {}) });
        break;
      case 'compute':
        specs.push({ ...common, nodeType: 'compute' });
        break;
      default:
        warn(`flow.json: /nodes/${id}: unknown node type ${JSON.stringify(type ?? null)}; imported as compute`);
        specs.push({ ...common, nodeType: 'compute' });
    }
  }
  const edges = Array.isArray(doc.edges) ? doc.edges : [];
  const metadata: Json = {
    acpx: {
      ...(str(manifest.runTitle) ? { runTitle: manifest.runTitle } : {}),
      ...(str(manifest.flowPath) ? { flowPath: manifest.flowPath } : {}),
      ...(doc.permissions !== undefined ? { permissions: doc.permissions } : {}),
      ...(doc.run !== undefined ? { run: doc.run } : {}),
      nodes,
    },
  };
  const parsed = FlowSnapshot.safeParse({
    schema: SCHEMA_IDS.flow,
    name: str(doc.name) ?? str(manifest.flowName) ?? 'acpx-flow',
    startAt: str(doc.startAt) ?? Object.keys(nodes)[0],
    nodes: specs,
    edges,
    metadata,
  });
  if (!parsed.success) throw new ImportError(describeZodError(parsed.error, join(label, 'flow.json')).message);
  return parsed.data;
}
