import * as assert from 'assert';
import type { RunManifest } from '../../src/protocol/experiments';
import { RUN_LIMITS } from '../../src/protocol/limits';
import { applyEvent } from '../../src/backend/experiments/apply-event';
import { applyLines } from '../../src/backend/experiments/apply-lines';
import type { MetricFields } from '../../src/backend/experiments/line-scanner';
import { emptyLogged } from '../../src/backend/experiments/repository';
import type { RunState } from '../../src/backend/experiments/run-state';
import { settleStatus } from '../../src/backend/experiments/settle-status';

// The event applier on plain objects: no run directory, no store, no metric files.

const ID = '20260102-030405-abcdef';

function runState(manifest: Partial<RunManifest> = { status: 'running' }): RunState {
  return {
    isNew: true,
    manifestDirty: false,
    models: [],
    warned: false,
    recorded: 0,
    keys: new Map(),
    record: {
      id: ID,
      projectId: 'p1',
      name: ID,
      status: 'running',
      startedAt: '2026-01-02T03:04:05.000Z',
      endedAt: null,
      exitCode: null,
      operator: '',
      dir: `/lab/runs/${ID}`,
      manifestText: '',
      manifest: manifest as RunManifest,
      logged: emptyLogged(),
      offset: 0,
      corruptLines: 0,
      skippedPoints: 0,
    },
  };
}

function fields(): MetricFields {
  return { key: '', value: 0, numeric: true, step: null, stepValid: true, time: 0 };
}

/** A log that keeps its lines, and the metric keys given an index. */
function hooks() {
  const lines: { level: 'warn' | 'info'; text: string }[] = [];
  const newKeys: [string, number][] = [];
  return {
    lines,
    newKeys,
    log: {
      warn: (text: string) => lines.push({ level: 'warn', text }),
      info: (text: string) => lines.push({ level: 'info', text }),
    },
    newKey: (runId: string, index: number) => newKeys.push([runId, index]),
  };
}

const jsonl = (...events: unknown[]) =>
  events.map((e) => (typeof e === 'string' ? e : JSON.stringify(e)) + '\n').join('');

/** The points of a buffer as [step, time, value] triples. */
function points(buffer: { floats: Float64Array; length: number }): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < buffer.length; i += 3) {
    out.push([buffer.floats[i], buffer.floats[i + 1], buffer.floats[i + 2]]);
  }
  return out;
}

describe('experiments: the event applier (plain objects)', () => {
  it('turns metric lines into points per key and summaries; a new key gets the next index once', () => {
    const state = runState();
    const h = hooks();
    const text = jsonl(
      { k: 'm', key: 'loss', v: 3, s: 0, t: 1000 },
      { k: 'm', key: 'acc', v: 0.5, t: 1001 },
      { k: 'm', key: 'loss', v: 1, s: 5, t: 1002 },
      { k: 'm', key: 'loss', v: 2, t: 1003 },
      { k: 'm', key: 'acc', v: 'NaN', t: 1004 },
    );
    const batch = applyLines(state, text, 0, fields(), h);
    assert.deepStrictEqual([...batch.keys()], ['loss', 'acc']);
    assert.deepStrictEqual(points(batch.get('loss')!.points), [
      [0, 1000, 3],
      [5, 1002, 1],
      [6, 1003, 2], // no step: the one after the last
    ]);
    const acc = points(batch.get('acc')!.points);
    assert.deepStrictEqual(acc[0], [0, 1001, 0.5]);
    assert.ok(Number.isNaN(acc[1][2]));
    assert.deepStrictEqual(state.keys.get('loss'), {
      index: 0,
      count: 3,
      last: 2,
      lastRaw: 2,
      lastStep: 6,
      min: 1,
      max: 3,
    });
    // a NaN is counted and kept as the last raw value, but is no last, min or max
    assert.deepStrictEqual(state.keys.get('acc'), {
      index: 1,
      count: 2,
      last: 0.5,
      lastRaw: 'NaN',
      lastStep: 1,
      min: 0.5,
      max: 0.5,
    });
    assert.deepStrictEqual(h.newKeys, [
      [ID, 0],
      [ID, 1],
    ]);
    // a second pass continues the keys: no new index, steps go on
    const again = applyLines(state, jsonl({ k: 'm', key: 'loss', v: 0, t: 2000 }), text.length, fields(), h);
    assert.deepStrictEqual(points(again.get('loss')!.points), [[7, 2000, 0]]);
    assert.strictEqual(state.keys.get('loss')!.min, 0);
    assert.strictEqual(h.newKeys.length, 2);
    assert.strictEqual(state.record.corruptLines + state.record.skippedPoints, 0);
  });

  it('records params, tags, artifacts, inputs, outputs and the result; a param given again replaces its value', () => {
    const state = runState();
    const h = hooks();
    applyLines(
      state,
      jsonl(
        { k: 'param', key: 'lr', v: 0.1 },
        { k: 'param', key: 'layers', v: [64, 32] },
        { k: 'param', key: 'lr', v: 0.01 },
        { k: 'tag', key: 'team', v: 42 },
        { k: 'artifact', path: 'plots/loss.png', source: '/tmp/loss.png' },
        { k: 'artifact', path: 'model.pkl' },
        { k: 'input', dataset: 'iris', version: 3 },
        { k: 'input', dataset: 'digits' },
        { k: 'output', path: 'predictions.csv' },
        { k: 'result', v: { accuracy: 0.97 } },
        { k: 'newer-kind', anything: true },
      ),
      0,
      fields(),
      h,
    );
    const logged = state.record.logged;
    assert.deepStrictEqual(logged.params, { lr: 0.01, layers: [64, 32] });
    assert.deepStrictEqual(logged.tags, { team: '42' });
    assert.deepStrictEqual(logged.artifacts, [
      { path: 'plots/loss.png', source: '/tmp/loss.png' },
      { path: 'model.pkl', source: '' },
    ]);
    assert.deepStrictEqual(logged.inputs, [
      { dataset: 'iris', version: 3 },
      { dataset: 'digits', version: null },
    ]);
    assert.deepStrictEqual(logged.outputs, ['predictions.csv']);
    assert.deepStrictEqual(logged.result, { accuracy: 0.97 });
    assert.strictEqual(state.record.corruptLines, 0, 'a kind from a newer client is not corrupt');
    assert.strictEqual(logged.warnings, undefined);
    assert.strictEqual(state.warned, false);
    assert.ok(state.recorded > 0);
  });

  it('counts corrupt lines and logs the first five of a pass, then how many more', () => {
    const state = runState();
    const h = hooks();
    const bad = [
      '{not json',
      '[1,2]',
      '"text"',
      '{"k":"param"}',
      '{"k":"status","status":"done"}',
      '{"no":"kind"}',
      '{"k":"artifact"}',
    ];
    applyLines(state, jsonl(...bad, '', '   ', { k: 'param', key: 'ok', v: 1 }), 0, fields(), h);
    assert.strictEqual(state.record.corruptLines, bad.length, 'blank lines are not corrupt');
    assert.deepStrictEqual(state.record.logged.params, { ok: 1 });
    const corrupt = h.lines.filter((l) => l.text.includes('skipped a corrupt line'));
    assert.strictEqual(corrupt.length, 5);
    assert.match(corrupt[0].text, /at byte 0: \{not json$/);
    assert.match(corrupt[1].text, /at byte 10: \[1,2\]$/);
    assert.ok(h.lines.some((l) => l.text.endsWith(`... and ${bad.length - 5} more corrupt lines`)));
  });

  it('skips metric points whose value or step is not a number, with their count', () => {
    const state = runState();
    const h = hooks();
    const batch = applyLines(
      state,
      jsonl(
        { k: 'm', key: 'loss', v: 'high', t: 1 },
        { k: 'm', key: 'loss', v: 1, s: 'one', t: 1 },
        { k: 'm', key: 'loss', v: 2, t: 1 },
      ),
      0,
      fields(),
      h,
    );
    assert.strictEqual(state.record.skippedPoints, 2);
    assert.deepStrictEqual(points(batch.get('loss')!.points), [[0, 1, 2]]);
    assert.ok(h.lines.some((l) => /"loss" whose value is not a number/.test(l.text)));
    assert.ok(h.lines.some((l) => /"loss" whose step is not a number/.test(l.text)));
  });

  it('collects model events with a key made of the run id and the byte offset of their line', () => {
    const state = runState();
    const h = hooks();
    const first = jsonl({ k: 'param', key: 'note', v: 'héllo' }); // a two-byte character before the model line
    const text =
      first +
      jsonl({
        k: 'model',
        name: 'iris-clf',
        path: 'model.pkl',
        entryPoint: 'serve.py',
        description: 'a classifier',
        tags: ['prod', 7, 'iris'],
      });
    applyLines(state, text, 100, fields(), h);
    assert.deepStrictEqual(state.models, [
      {
        runId: ID,
        projectId: 'p1',
        runDir: `/lab/runs/${ID}`,
        name: 'iris-clf',
        path: 'model.pkl',
        entryPoint: 'serve.py',
        description: 'a classifier',
        tags: ['prod', 'iris'],
        key: `${ID}@${100 + Buffer.byteLength(first)}`,
      },
    ]);
    assert.notStrictEqual(Buffer.byteLength(first), first.length);
  });

  it('refuses too long keys, names and paths and cuts too long values, each with a warning in the run', () => {
    const state = runState();
    const h = hooks();
    const longKey = 'k'.repeat(RUN_LIMITS.keyChars + 1);
    const batch = applyLines(
      state,
      jsonl(
        { k: 'param', key: longKey, v: 1 },
        { k: 'tag', key: longKey, v: 'x' },
        { k: 'm', key: longKey, v: 1, t: 1 },
        { k: 'param', key: 'big', v: 'v'.repeat(RUN_LIMITS.paramValueChars + 10) },
        { k: 'artifact', path: 'p'.repeat(RUN_LIMITS.pathChars + 1) },
        { k: 'input', dataset: 'd'.repeat(RUN_LIMITS.nameChars + 1) },
        { k: 'model', name: 'n'.repeat(RUN_LIMITS.nameChars + 1), path: 'model.pkl' },
      ),
      0,
      fields(),
      h,
    );
    const logged = state.record.logged;
    assert.deepStrictEqual(Object.keys(logged.params), ['big']);
    assert.strictEqual((logged.params.big as string).length, RUN_LIMITS.paramValueChars);
    assert.deepStrictEqual(logged.tags, {});
    assert.deepStrictEqual(logged.artifacts, []);
    assert.deepStrictEqual(logged.inputs, []);
    assert.deepStrictEqual(state.models, []);
    assert.strictEqual(batch.size, 0);
    assert.strictEqual(state.record.skippedPoints, 1);
    assert.strictEqual(state.warned, true);
    const w = logged.warnings!;
    assert.strictEqual(w.length, 7);
    assert.match(w[0], /^refused the param "k{40}"\.\.\. \(251 characters\): keys are limited to 250 characters$/);
    assert.match(w[2], /^skipped the points of the metric /);
    assert.match(w[3], /^the value of the param "big" has 6010 characters: kept its first 6000$/);
    assert.match(w[4], /^refused the artifact .*paths are limited to 4096 characters$/);
    assert.match(w[5], /dataset names are limited/);
    assert.match(w[6], /^refused the model .*names are limited/);
    // each warning reaches the backend's log once
    assert.strictEqual(h.lines.filter((l) => l.text.startsWith(`experiments: run ${ID}: refused`)).length, 5);
  });

  it('refuses what goes beyond the characters a run records; a replaced value frees its own', () => {
    const state = runState();
    const h = hooks();
    const value = 'v'.repeat(RUN_LIMITS.paramValueChars - 10);
    const lines: unknown[] = [];
    for (let i = 0; RUN_LIMITS.recordedChars / value.length + 2 > i; i++) {
      lines.push({ k: 'param', key: `p${i}`, v: value });
    }
    applyLines(state, jsonl(...lines), 0, fields(), h);
    const kept = Object.keys(state.record.logged.params).length;
    assert.ok(kept > 0 && kept < lines.length);
    assert.ok(state.recorded <= RUN_LIMITS.recordedChars);
    assert.ok(
      state.record.logged.warnings!.some((w) => w.startsWith(`refused the param "p${kept}": a run records at most`)),
    );
    // the same size again under a kept key fits: only the difference counts
    const before = state.recorded;
    applyEvent(state, { k: 'param', key: 'p0', v: value.replace('v', 'w') }, fields(), h.log);
    assert.strictEqual(state.recorded, before);
    assert.strictEqual((state.record.logged.params.p0 as string)[0], 'w');
  });

  it('keeps a warning once and at most warningsPerRun of them, counting the others', () => {
    const state = runState();
    const h = hooks();
    const events: unknown[] = [
      { k: 'warning', message: 'same' },
      { k: 'warning', message: 'same' },
    ];
    for (let i = 0; i < RUN_LIMITS.warningsPerRun + 3; i++) {
      events.push({ k: 'warning', message: `w${i}` });
    }
    applyLines(state, jsonl(...events), 0, fields(), h);
    const logged = state.record.logged;
    assert.strictEqual(logged.warnings!.length, RUN_LIMITS.warningsPerRun);
    assert.strictEqual(logged.warnings!.filter((w) => w === 'same').length, 1);
    assert.strictEqual(logged.moreWarnings, 4);
    assert.strictEqual(h.lines.length, RUN_LIMITS.warningsPerRun);
  });

  it('settles the status from a status line first, then a final manifest, then a dead process', () => {
    const h = hooks();
    const withLine = runState({ status: 'running', pid: 1, name: 'trained' });
    applyLines(
      withLine,
      jsonl({ k: 'status', status: 'failed', exitCode: 2, t: Date.UTC(2026, 0, 2, 4) }),
      0,
      fields(),
      h,
    );
    settleStatus(withLine.record, true, h.log);
    assert.strictEqual(withLine.record.name, 'trained');
    assert.deepStrictEqual(
      [withLine.record.status, withLine.record.exitCode, withLine.record.endedAt],
      ['failed', 2, '2026-01-02T04:00:00.000Z'],
    );

    const finalManifest = runState({ status: 'completed', exitCode: 0, endedAt: '2026-01-02T05:00:00Z' });
    settleStatus(finalManifest.record, true, h.log);
    assert.deepStrictEqual(
      [finalManifest.record.status, finalManifest.record.exitCode, finalManifest.record.endedAt],
      ['completed', 0, '2026-01-02T05:00:00.000Z'],
    );
    assert.strictEqual(finalManifest.record.name, ID, 'no name in the manifest: the run id');
    assert.strictEqual(h.lines.length, 0);

    const dead = runState({ status: 'running', pid: 4242 });
    settleStatus(dead.record, true, h.log);
    assert.strictEqual(dead.record.status, 'interrupted');
    assert.ok(dead.record.endedAt);
    assert.deepStrictEqual(
      h.lines.map((l) => l.level),
      ['info'],
    );
    assert.match(h.lines[0].text, /process 4242 ended without a final status/);
    settleStatus(dead.record, true, h.log);
    assert.strictEqual(h.lines.length, 1, 'said once');

    const alive = runState({ status: 'running', pid: 4242 });
    settleStatus(alive.record, false, h.log);
    assert.deepStrictEqual([alive.record.status, alive.record.endedAt, alive.record.exitCode], ['running', null, null]);
  });
});
