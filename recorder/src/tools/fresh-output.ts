/**
 * Where a command may put what it creates (`import -o`, `pack -o`). No command deletes or replaces anything it did
 * not create, so the output must not exist yet — or, for a folder, be an empty real folder (a symlink is not one:
 * what it points to was not made by us either).
 */
import { lstat, readdir } from 'node:fs/promises';

/** Why `path` cannot be the output, or undefined when it can. */
export async function outputProblem(path: string, kind: 'folder' | 'file'): Promise<string | undefined> {
  let st;
  try {
    st = await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return `cannot be checked (${(error as NodeJS.ErrnoException).code ?? (error as Error).message.split('\n')[0]})`;
  }
  if (kind === 'folder' && st.isDirectory()) {
    const entries = await readdir(path).catch(() => ['?']);
    return entries.length === 0 ? undefined : 'already exists and is not empty';
  }
  if (st.isSymbolicLink()) return 'already exists (a symbolic link)';
  if (st.isDirectory()) return 'already exists (a folder)';
  return kind === 'folder' ? 'already exists and is not a folder' : 'already exists';
}
