/**
 * Schema ids carry the format's major version (`flowtape.<doc>.v<major>`). Readers accept every minor change
 * (new optional fields, new event types) and refuse a newer major with one clear error.
 */
export const FORMAT_MAJOR = 1;

export const SCHEMA_IDS = {
  bundle: 'flowtape.bundle.v1',
  flow: 'flowtape.flow.v1',
  traceEvent: 'flowtape.trace-event.v1',
  run: 'flowtape.run.v1',
  live: 'flowtape.live.v1',
  steps: 'flowtape.steps.v1',
  sessionBinding: 'flowtape.session-binding.v1',
  sessionRecord: 'flowtape.session-record.v1',
  sessionEvent: 'flowtape.session-event.v1',
  artifactRef: 'flowtape.artifact-ref.v1',
} as const;

export type SchemaDoc = keyof typeof SCHEMA_IDS;

const ID_PATTERN = /^flowtape\.([a-z-]+)\.v(\d+)$/;

/** Splits `flowtape.bundle.v3` into its document name and major version; undefined when it is not a flowtape id. */
export function parseSchemaId(id: string): { doc: string; major: number } | undefined {
  const match = ID_PATTERN.exec(id);
  if (!match) return undefined;
  return { doc: match[1]!, major: Number(match[2]) };
}

/** Thrown when a file was written by a newer major version of the format than this reader understands. */
export class NewerFormatError extends Error {
  override name = 'NewerFormatError';
  constructor(
    readonly file: string,
    readonly schemaId: string,
    readonly major: number,
  ) {
    super(
      `${file}: format ${schemaId} is newer than this reader (it reads v${FORMAT_MAJOR}); upgrade flowtape to open it`,
    );
  }
}
