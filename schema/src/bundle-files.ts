// Where a v1 bundle's files are, without zod: readers need the layout before (or without) the schemas.

/** The default file layout of a v1 bundle. */
export const BUNDLE_FILES = {
  manifest: 'manifest.json',
  flow: 'flow.json',
  trace: 'trace.ndjson',
  run: 'projections/run.json',
  live: 'projections/live.json',
  steps: 'projections/steps.json',
  sessionsDir: 'sessions',
  artifactsDir: 'artifacts',
} as const;

export function sessionFiles(sessionId: string) {
  const dir = `${BUNDLE_FILES.sessionsDir}/${sessionId}`;
  return {
    dir,
    binding: `${dir}/binding.json`,
    record: `${dir}/record.json`,
    events: `${dir}/events.ndjson`,
  } as const;
}
