// Telling edge kinds apart without zod: the viewer lays out the graph before the schemas are loaded.
import type { EdgeSpec, SwitchEdge } from './flow.ts';

export function isSwitchEdge(edge: EdgeSpec): edge is SwitchEdge {
  return 'switch' in edge;
}
