// `flowtape index`: the tables it writes, queried with DuckDB as docs/scale.md says, give the right rows.
import assert from 'node:assert/strict';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { repoRoot, runCli, tempDir } from './recorder-support.ts';

let dir: { path: string; remove(): Promise<void> };
before(async () => {
  dir = await tempDir('flowtape-index-');
  for (const name of ['conversation', 'shell-routing', 'retry-timeout', 'checkpoint']) {
    await cp(join(repoRoot, 'samples', name, 'bundle'), join(dir.path, 'runs', name), { recursive: true });
  }
});
after(async () => {
  await dir.remove();
});

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
  }
}

describe('flowtape index', () => {
  it('writes one row per run and per attempt that DuckDB queries: failed runs by node, within a week', async () => {
    const result = await runCli(['index', 'runs', '-o', 'idx', '--json'], { cwd: dir.path });
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.runs, 4);
    assert.equal(report.attempts, 14);
    const attempts = join(dir.path, 'idx', 'attempts.ndjson');
    const runs = join(dir.path, 'idx', 'runs.ndjson');
    const failedAt = await query(`
      SELECT nodeId, count(*) AS failures, list(runId ORDER BY runId) AS runs
      FROM read_json('${attempts}')
      WHERE status IN ('failed', 'timed_out') AND startedAt::TIMESTAMP >= TIMESTAMP '2026-01-01' - INTERVAL 7 DAY
      GROUP BY nodeId ORDER BY nodeId`);
    assert.deepEqual(failedAt, [
      { nodeId: 'build', failures: '1', runs: ['20260101T000000Z-shell-routing'] },
      { nodeId: 'fetch', failures: '1', runs: ['20260101T000000Z-retry-timeout'] },
    ]);
    const byRun = await query(`SELECT runId, status, attempts, failedAttempts, inputTokens FROM read_json('${runs}') ORDER BY runId`);
    assert.deepEqual(byRun, [
      { runId: '20260101T000000Z-checkpoint', status: 'completed', attempts: '3', failedAttempts: '0', inputTokens: null },
      { runId: '20260101T000000Z-conversation', status: 'completed', attempts: '5', failedAttempts: '0', inputTokens: '3500' },
      { runId: '20260101T000000Z-retry-timeout', status: 'completed', attempts: '4', failedAttempts: '1', inputTokens: null },
      { runId: '20260101T000000Z-shell-routing', status: 'completed', attempts: '2', failedAttempts: '1', inputTokens: null },
    ]);
    const edge = await query(`SELECT nextNodeId, nextCase FROM read_json('${attempts}') WHERE attemptId = 'build#1'`);
    assert.deepEqual(edge, [{ nextNodeId: 'diagnose', nextCase: 'failed' }]);
  });

  it('never writes into a folder with files, and names an unreadable bundle instead of failing', async () => {
    await mkdir(join(dir.path, 'full'));
    await writeFile(join(dir.path, 'full', 'keep.txt'), 'mine');
    const refused = await runCli(['index', 'runs', '-o', 'full'], { cwd: dir.path });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /not empty/);
    await mkdir(join(dir.path, 'runs', 'broken'));
    await writeFile(join(dir.path, 'runs', 'broken', 'manifest.json'), '{ not json');
    const partial = await runCli(['index', 'runs', '-o', 'idx2'], { cwd: dir.path });
    assert.equal(partial.code, 0, partial.stderr);
    assert.match(partial.stdout, /4 runs, 14 attempts/);
    assert.match(partial.stderr, /warning: skipped .*broken/);
  });
});
