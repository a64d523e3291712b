import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { Backend } from '../../src/backend/app';
import { ApiClient } from '../../src/client/api-client';
import { RUN_LIMITS } from '../../src/protocol/limits';
import { appendEvents, manifest, metricLine, until, writeManifest } from './experiments-helpers';
import { startBackend, tempHome, TEST_TOKEN } from './helpers';
import { spawnBackend, waitForExit } from './process-helpers';

/** Resident memory of a process, in bytes (Linux). */
function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

const ID = '20260102-030405-abcdef';

describe('limits: what a run directory holds cannot stall or swell the backend', function () {
  this.timeout(120000);
  let temp: ReturnType<typeof tempHome>;
  beforeEach(() => (temp = tempHome()));
  afterEach(() => temp.cleanup());

  it('a 100 MB unfinished line is skipped to its newline without buffering it; the backend answers and stops on SIGTERM', async function () {
    if (process.platform !== 'linux') {
      this.skip();
    }
    const { child, client } = await spawnBackend(temp.home);
    try {
      const project = await client.createProject('Lab');
      await client.setActiveProject(project.id);
      writeManifest(temp.home, manifest(ID));
      appendEvents(temp.home, ID, metricLine('before', 1, 0));
      await until('the first point', async () =>
        (await client.listExperiments()).find((e) => e.metrics.length > 0) ? true : undefined,
      );
      const baseline = rss(child.pid!);
      let peak = baseline;
      const piece = 'x'.repeat(4 * 1024 * 1024);
      // large enough that the backend's own growth meanwhile (heap, code; tens of MB on a loaded
      // machine) stays well under the bound, which holding the line would pass
      const pieces = 24;
      fs.appendFileSync(path.join(temp.home, 'runs', ID, 'events.jsonl'), '{"k":"param","key":"huge","v":"');
      for (let i = 0; i < pieces; i++) {
        appendEvents(temp.home, ID, piece);
        // the backend answers while the line grows, and while it waits for the rest of it
        await client.status();
        await new Promise((r) => setTimeout(r, 250));
        peak = Math.max(peak, rss(child.pid!));
      }
      for (let i = 0; i < 12; i++) {
        await client.status();
        await new Promise((r) => setTimeout(r, 250)); // several of the 2 s re-checks of a running run
        peak = Math.max(peak, rss(child.pid!));
      }
      appendEvents(temp.home, ID, '"}\n' + metricLine('after', 2, 0));
      const details = await until('the point after the long line', async () => {
        const d = await client.getExperiment(ID);
        return d.metrics.some((m) => m.key === 'after') ? d : undefined;
      });
      peak = Math.max(peak, rss(child.pid!));
      const lineBytes = 31 + pieces * piece.length + 3;
      assert.deepStrictEqual(
        details.metrics.map((m) => m.key),
        ['after', 'before'],
      );
      assert.strictEqual(details.params.huge, undefined);
      assert.deepStrictEqual(details.warnings, [
        `skipped a line of events.jsonl of ${lineBytes} bytes at byte ${metricLine('before', 1, 0).length}: lines are limited to ${RUN_LIMITS.lineBytes} bytes`,
      ]);
      // never the whole line in memory (reading it whole takes its size at least once, twice as text)
      assert.ok(
        peak - baseline < lineBytes * 0.75,
        `memory grew by ${Math.round((peak - baseline) / 1e6)} MB for a ${Math.round(lineBytes / 1e6)} MB line`,
      );
      child.kill('SIGTERM');
      assert.strictEqual(await waitForExit(child), 0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
      }
    }
  });

  describe('values over the limits, written straight into events.jsonl', () => {
    let backend: Backend;
    let client: ApiClient;
    beforeEach(async () => {
      backend = await startBackend(temp.home);
      client = new ApiClient(backend.port, TEST_TOKEN);
      const project = await client.createProject('Lab');
      await client.setActiveProject(project.id);
    });
    afterEach(() => backend.stop('test done'));

    it('cuts long values, refuses long keys, names and paths, skips long lines, each with a warning in the run', async () => {
      const long = 'k'.repeat(RUN_LIMITS.keyChars + 1);
      const line = (e: object) => `${JSON.stringify({ t: 1, ...e })}\n`;
      writeManifest(temp.home, manifest(ID));
      appendEvents(
        temp.home,
        ID,
        [
          line({ k: 'param', key: 'big', v: 'p'.repeat(900_000) }),
          line({ k: 'param', key: 'nested', v: { list: Array.from({ length: 5000 }, (_, i) => i) } }),
          line({ k: 'param', key: long, v: 1 }),
          line({ k: 'tag', key: 'note', v: 't'.repeat(20_000) }),
          line({ k: 'tag', key: long, v: 'x' }),
          metricLine(long, 1, 0),
          line({ k: 'm', key: `${long}\\"`, v: 1, s: 0 }),
          line({ k: 'artifact', path: 'a'.repeat(RUN_LIMITS.pathChars + 1), source: '' }),
          line({ k: 'input', dataset: 'd'.repeat(RUN_LIMITS.nameChars + 1), version: 1 }),
          line({ k: 'output', path: 'o'.repeat(RUN_LIMITS.pathChars + 1) }),
          line({ k: 'result', v: 'r'.repeat(RUN_LIMITS.textChars + 10) }),
          line({ k: 'model', name: 'm'.repeat(RUN_LIMITS.nameChars + 1), path: 'artifacts/x' }),
          line({ k: 'param', key: 'whole-line', v: 'w'.repeat(RUN_LIMITS.lineBytes) }),
          line({ k: 'warning', message: 'a client said so' }),
          metricLine('fine', 1, 0),
        ].join(''),
      );
      const d = await until('the run', async () => {
        const e = await client.getExperiment(ID);
        return e.metrics.length > 0 ? e : undefined;
      });
      assert.deepStrictEqual(
        d.metrics.map((m) => m.key),
        ['fine'],
      );
      assert.deepStrictEqual(Object.keys(d.params).sort(), ['big', 'lr', 'nested']);
      assert.strictEqual(d.params.big, 'p'.repeat(RUN_LIMITS.paramValueChars));
      assert.strictEqual(String(d.params.nested).length, RUN_LIMITS.paramValueChars);
      assert.deepStrictEqual(d.tags, { kind: 'test', note: 't'.repeat(RUN_LIMITS.tagValueChars) });
      assert.deepStrictEqual([d.artifacts, d.inputs, d.outputs], [[], [], []]);
      assert.strictEqual(String(d.result).length, RUN_LIMITS.textChars);
      const w = (d.warnings ?? []).join('\n');
      for (const expected of [
        /the value of the param "big" has 900000 characters: kept its first 6000/,
        /the value of the param "nested" has \d+ characters: kept its first 6000/,
        /refused the param "k{40}"\.\.\. \(251 characters\): keys are limited to 250 characters/,
        /the value of the tag "note" has 20000 characters: kept its first 8000/,
        /refused the tag "k{40}"/,
        /skipped the points of the metric "k{40}"/,
        /refused the artifact .*paths are limited to 4096/,
        /refused the input .*dataset names are limited to 250/,
        /refused the output .*paths are limited to 4096/,
        /the result has 65546 characters: kept its first 65536/,
        /refused the model .*names are limited to 250/,
        /skipped a line of events.jsonl of \d+ characters at byte \d+: lines are limited to 1048576 bytes/,
        /^a client said so$/m,
      ]) {
        assert.match(w, expected);
      }
      assert.deepStrictEqual(await client.listModels(), []);
    });

    it('bounds everything a run records together, so its row in the store stays small', async () => {
      writeManifest(temp.home, manifest(ID));
      const value = 'v'.repeat(RUN_LIMITS.paramValueChars);
      const lines = Array.from(
        { length: 300 },
        (_, i) => `${JSON.stringify({ k: 'param', key: `p${i}`, v: value })}\n`,
      );
      // the same key again replaces its value: it does not count twice
      lines.push(`${JSON.stringify({ k: 'param', key: 'p0', v: 'short' })}\n`);
      appendEvents(temp.home, ID, lines.join('') + metricLine('fine', 1, 0));
      const d = await until('the run', async () => {
        const e = await client.getExperiment(ID);
        return e.metrics.length > 0 ? e : undefined;
      });
      const kept = Object.keys(d.params).length;
      assert.ok(kept > 100 && kept < 300, `${kept} params kept`);
      assert.strictEqual(d.params.p0, 'short');
      assert.ok(JSON.stringify(d.params).length <= RUN_LIMITS.recordedChars);
      assert.match((d.warnings ?? []).join('\n'), /refused the param "p\d+": a run records at most 1048576 characters/);
    });
  });
});
