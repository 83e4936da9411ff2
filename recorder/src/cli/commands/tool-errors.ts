/** The bundle tools' own failures become one-line CLI errors with exit 2 (bad input), never a stack trace. */
import { CliError } from '../errors.ts';

const INPUT_ERRORS = new Set([
  'BundleFormatError',
  'NewerFormatError',
  'RepairError',
  'PackError',
  'ImportError',
  'VerifyInputError',
  'ZodError',
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
