// The key of an edge in `ProjectionState.edges`: the reducer counts edges by it, run.json renders it back into its
// ends, and the viewer and `repair` look edges up by it, so it is spelled in one place.

const ARROW = '\u2192';

/** `from→to`. */
export function edgeKey(from: string, to: string): string {
  return `${from}${ARROW}${to}`;
}

/**
 * The edge's ends, cut at its arrows as `key.split('→')` would cut them (a node id holding an arrow is cut the same
 * way everywhere), without making the array.
 */
export function edgeEnds(key: string): { from: string; to: string } {
  const arrow = key.indexOf(ARROW);
  if (arrow === -1) return { from: key, to: undefined as unknown as string };
  const next = key.indexOf(ARROW, arrow + 1);
  return { from: key.slice(0, arrow), to: key.slice(arrow + 1, next === -1 ? undefined : next) };
}
