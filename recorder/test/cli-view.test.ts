// `flowtape view`: the real bin serves a bundle on loopback until interrupted.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ensureViewerBuilt } from '../../viewer/server/ensure-built.ts';
import { repoRoot, runCli, spawnCli, tempDir, waitFor } from './recorder-support.ts';

describe('flowtape view', () => {
  it('prints the loopback URL, serves the bundle read-only, and stops on SIGINT (exit 0)', async () => {
    ensureViewerBuilt();
    const bundle = join(repoRoot, 'samples/conversation/bundle');
    const cli = spawnCli(['view', bundle, '--port', '0'], { cwd: repoRoot });
    try {
      const url = await waitFor(() => /^(http:\/\/127\.0\.0\.1:\d+\/?)\n/.exec(cli.output().stdout)?.[1], 20_000, 'the URL on stdout');
      const info = (await (await fetch(new URL('/api/info', url))).json()) as { mode: string };
      assert.equal(info.mode, 'bundle');
      const manifest = (await (await fetch(new URL('/files/manifest.json', url))).json()) as { flowName: string };
      assert.equal(manifest.flowName, 'conversation');
      assert.match(cli.output().stderr, /serving .* \(bundle\) at http:\/\/127\.0\.0\.1:\d+/);
      cli.child.kill('SIGINT');
      const result = await cli.done;
      assert.equal(result.code, 0, result.stderr);
    } finally {
      cli.child.kill('SIGKILL');
    }
  });

  it('with no path serves the default runs root, and says when it holds no bundle yet', async () => {
    ensureViewerBuilt();
    const dir = await tempDir('flowtape-view-');
    try {
      const missing = await runCli(['view'], { cwd: dir.path });
      assert.equal(missing.code, 2);
      assert.equal(missing.stderr.trim().split('\n').length, 1, missing.stderr);
      assert.match(missing.stderr, /\.flowtape\/runs: .*no runs recorded here yet/);
      await mkdir(join(dir.path, '.flowtape', 'runs'), { recursive: true });
      const cli = spawnCli(['view'], { cwd: dir.path });
      try {
        const url = await waitFor(() => /^(http:\/\/127\.0\.0\.1:\d+\/?)\n/.exec(cli.output().stdout)?.[1], 20_000, 'the URL on stdout');
        await waitFor(() => /holds no bundle yet/.test(cli.output().stderr) || undefined, 10_000, 'the empty-root note');
        assert.match(cli.output().stderr, /serving \.flowtape\/runs \(runs\)/);
        const info = (await (await fetch(new URL('/api/info', url))).json()) as { mode: string };
        assert.equal(info.mode, 'runs');
        cli.child.kill('SIGINT');
        assert.equal((await cli.done).code, 0);
      } finally {
        cli.child.kill('SIGKILL');
      }
    } finally {
      await dir.remove();
    }
  });

  it('exits 2 with one line for a path that is neither a bundle, a runs root nor a zip', async () => {
    const result = await runCli(['view', join(repoRoot, 'package.json')], { cwd: repoRoot });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /package\.json: not a bundle directory, runs directory or \.zip/);
  });
});
