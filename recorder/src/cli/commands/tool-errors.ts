/** The bundle tools' own failures become one-line CLI errors with exit 2 (bad input), never a stack trace. */
import { isAbsolute, resolve } from 'node:path';
import { CliError } from '../errors.ts';

const INPUT_ERRORS = new Set([
  'BundleFormatError',
  'NewerFormatError',
  'RepairError',
  'PackError',
  'ImportError',
  'VerifyInputError',
  'ListRunsError',
  'ZodError',
  'UnsafeBundleError',
  'ReplayError',
  'RecordingError',
  'StaticSiteError',
]);
const FS_CODES = new Set(['ENOENT', 'EACCES', 'EPERM', 'ENOTDIR', 'EISDIR', 'EEXIST', 'ENOSPC', 'EROFS', 'ELOOP']);

export async function asCliErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof CliError) throw error;
    if (error instanceof Error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (INPUT_ERRORS.has(error.name) || (code && FS_CODES.has(code))) {
        throw new CliError(error.message.split('\n')[0]!, 2);
      }
    }
    throw error;
  }
}

/** A path argument relative to the CLI's working directory (kept as typed when that is the process's own). */
export function argPath(cwd: string, path: string): string {
  return isAbsolute(path) || resolve(cwd) === process.cwd() ? path : resolve(cwd, path);
}
