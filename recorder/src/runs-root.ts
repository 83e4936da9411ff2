import { join } from 'node:path';

/** Where `flowtape run` writes bundles and `ls`/`view` look by default, relative to the working directory. */
export const DEFAULT_RUNS_ROOT = join('.flowtape', 'runs');
