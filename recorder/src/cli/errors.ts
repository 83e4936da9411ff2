/** Errors the CLI entry maps to exit codes (in main.ts, the one place that does). */

/** Bad arguments or input: exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A command's own failure with a chosen exit code and a one-line message. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}
