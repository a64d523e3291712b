import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  buildDetails,
  cut,
  formatNumber,
  MAX_VALUE_CHARS,
  type DetailsInput,
} from '../../src/extension/experiments/details/content';
import { readLogTail, readPackages } from '../../src/extension/experiments/details/files';
import type { ExperimentDetails, RunManifest } from '../../src/protocol/experiments';
import type { DetailsButton, DetailsSection, ShowMessage } from '../../src/protocol/webviews/experiment-details';

const DIR = path.join(path.sep, 'lab', '.mllab', 'runs', '20260101-120000-abc123');

const MANIFEST: RunManifest = {
  format: 1,
  id: '20260101-120000-abc123',
  name: 'train',
  project: null,
  status: 'completed',
  startedAt: '2026-01-01T12:00:00.000Z',
  endedAt: '2026-01-01T12:01:05.500Z',
  exitCode: 0,
  pid: 4242,
  operator: 'ada',
  command: ['python3', 'train.py', '--lr', '0.1', 'two words'],
  cwd: path.join(path.sep, 'work', 'proj'),
  script: { path: path.join(path.sep, 'work', 'proj', 'train.py'), copy: 'source/train.py' },
  host: { hostname: 'box', os: 'Linux 6.1 x64', cpus: 8, memoryBytes: 16 * 1024 ** 3, gpus: ['GPU 0: Tesla T4'] },
  runtime: { python: '3.11.7', node: '20.20.2' },
  packages: 'packages.txt',
  git: { commit: 'a'.repeat(40), branch: 'main', dirty: true, diff: 'git.diff' },
  params: {},
  tags: {},
};

const HUGE = 'x'.repeat(100_000);

function details(over: Partial<ExperimentDetails> = {}, manifest: Partial<RunManifest> = {}): ExperimentDetails {
  return {
    id: MANIFEST.id,
    projectId: 'p1',
    name: 'train',
    status: 'completed',
    startedAt: MANIFEST.startedAt,
    endedAt: MANIFEST.endedAt,
    durationMs: 65_500,
    exitCode: 0,
    operator: 'ada',
    params: { lr: 0.1, optimizer: 'adam', layers: [64, 32], größe_学习率: 3, huge: HUGE },
    tags: { stage: 'dev' },
    metrics: [
      { key: 'loss', count: 50, last: 0.02, lastStep: 49, min: 0.02, max: 1, lastRaw: 0.02 },
      { key: 'odd', count: 1, last: null, lastStep: 0, min: null, max: null, lastRaw: 'NaN' },
      { key: 'big', count: 2, last: 3, lastStep: 1, min: 3, max: 3, lastRaw: '-Infinity' },
      { key: 'third', count: 1_234_567, last: 1 / 3, lastStep: 1_234_566, min: 0, max: 1, lastRaw: 1 / 3 },
    ],
    dir: DIR,
    manifest: { ...MANIFEST, ...manifest },
    artifacts: [{ path: 'artifacts/model.pkl', source: '/work/proj/model.pkl' }],
    inputs: [
      { dataset: 'iris', version: 2 },
      { dataset: 'digits', version: null },
    ],
    outputs: ['/work/proj/out/predictions.csv', 'relative/report.txt'],
    result: { accuracy: 0.97 },
    ...over,
  };
}

function input(over: Partial<DetailsInput> = {}): DetailsInput {
  return {
    details: details(),
    logs: [
      { name: 'stdout.log', exists: true, lines: ['epoch 1', 'training done'], totalLines: 2, bytes: 22 },
      { name: 'stderr.log', exists: false, lines: [], bytes: 0 },
    ],
    packages: { lines: ['numpy==1.26.4', 'scikit-learn==1.4.0'], truncated: false },
    now: Date.parse('2026-01-01T12:00:10.000Z'),
    revealIn: 'os',
    ...over,
  };
}

const sectionOf = (show: ShowMessage, id: string): DetailsSection => {
  const s = show.sections.find((x) => x.id === id);
  assert.ok(s, `section ${id} in ${show.sections.map((x) => x.id).join(', ')}`);
  return s;
};
const field = (fields: readonly { label: string; value: string }[] | undefined, label: string) =>
  fields?.find((f) => f.label === label)?.value;
const allButtons = (show: ShowMessage): DetailsButton[] => [
  ...show.buttons,
  ...show.sections.flatMap((s) => [
    ...(s.buttons ?? []),
    ...(s.items ?? []).flatMap((i) => i.buttons),
    ...(s.texts ?? []).flatMap((t) => t.buttons ?? []),
  ]),
];

describe('experiment details content', () => {
  it('has the header fields, the status and the command buttons of a finished run', () => {
    const { show } = buildDetails(input());
    assert.strictEqual(show.type, 'show');
    assert.strictEqual(show.id, MANIFEST.id);
    assert.strictEqual(show.title, 'train');
    assert.strictEqual(show.status, 'completed');
    assert.strictEqual(show.statusLabel, 'completed');
    assert.strictEqual(show.deleted, undefined);
    assert.strictEqual(field(show.header, 'Run ID'), MANIFEST.id);
    assert.strictEqual(field(show.header, 'Duration'), '1 min 5 s');
    assert.strictEqual(field(show.header, 'Exit code'), '0');
    assert.strictEqual(field(show.header, 'Operator'), 'ada');
    assert.strictEqual(show.header.find((f) => f.label === 'Started')?.title, MANIFEST.startedAt);
    const commands = show.buttons.map((b) => (b.request.kind === 'command' ? b.request.command : b.request.action));
    assert.deepStrictEqual(commands, ['openLog', 'compareScript', 'rerun', 'rerunWithParams', 'reveal', 'delete']);
  });

  it('shows params as JSON, keeps unicode keys and cuts a huge value with its length', () => {
    const table = sectionOf(buildDetails(input()).show, 'params').table!;
    assert.deepStrictEqual(table.columns, ['Param', 'Value (JSON)']);
    const rows = new Map(table.rows.map(([k, v]) => [k, v]));
    assert.strictEqual(rows.get('lr'), '0.1');
    assert.strictEqual(rows.get('optimizer'), '"adam"');
    assert.strictEqual(rows.get('layers'), '[64,32]');
    assert.strictEqual(rows.get('größe_学习率'), '3');
    const huge = rows.get('huge')!;
    assert.ok(huge.length < MAX_VALUE_CHARS + 40, `cut to about ${MAX_VALUE_CHARS} characters, not ${huge.length}`);
    assert.ok(huge.startsWith('"xxxx'));
    assert.match(huge, /… \(100,002 characters\)$/);
  });

  it('shows the warnings of the run first, one a line, and no warnings section without any', () => {
    assert.ok(!buildDetails(input()).show.sections.some((x) => x.id === 'warnings'), 'none recorded');
    assert.ok(
      !buildDetails(input({ details: details({ warnings: [] }) })).show.sections.some((x) => x.id === 'warnings'),
    );
    const warnings = [
      "the value of the param 'notes' has 7000 characters: kept its first 6000 (the limit)",
      'the artifact link artifacts/escape points outside the run directory: not followed',
      'x'.repeat(100_000),
    ];
    const { show } = buildDetails(input({ details: details({ warnings }) }));
    assert.strictEqual(show.sections[0].id, 'warnings', 'before the params');
    const section = sectionOf(show, 'warnings');
    assert.strictEqual(section.title, 'Warnings (3)');
    const lines = section.texts![0].text.split('\n');
    assert.deepStrictEqual(lines.slice(0, 2), warnings.slice(0, 2));
    assert.ok(lines[2].length < MAX_VALUE_CHARS + 40, `a huge warning is cut, not ${lines[2].length} characters`);
  });

  it('shows metric summaries with NaN and infinities as logged', () => {
    const table = sectionOf(buildDetails(input()).show, 'metrics').table!;
    assert.deepStrictEqual(table.columns, ['Metric', 'Last', 'Min', 'Max', 'Count', 'Last step']);
    assert.deepStrictEqual(table.rows, [
      ['loss', '0.02', '0.02', '1', '50', '49'],
      ['odd', 'NaN', '—', '—', '1', '0'],
      ['big', '-Infinity', '3', '3', '2', '1'],
      ['third', '0.3333', '0', '1', '1,234,567', '1234566'],
    ]);
    // a shortened number shows in full on hover; a number shown whole has no hover
    assert.deepStrictEqual(table.titles?.[3], ['', String(1 / 3), '', '', '', '']);
    assert.deepStrictEqual(table.titles?.[0], ['', '', '', '', '', '']);
    assert.strictEqual(formatNumber(Number.NaN), 'NaN');
    assert.strictEqual(formatNumber(Number.POSITIVE_INFINITY), 'Infinity');
  });

  it('lists inputs, outputs and artifacts; their buttons name files the host registered', () => {
    const { show, files } = buildDetails(input());
    const io = sectionOf(show, 'io');
    assert.deepStrictEqual(
      io.items!.map((i) => i.label),
      ['iris:v2', 'digits (latest)', '/work/proj/out/predictions.csv', 'relative/report.txt'],
    );
    const artifacts = sectionOf(show, 'artifacts');
    assert.strictEqual(artifacts.items![0].label, 'artifacts/model.pkl');
    const [openButton, revealButton] = artifacts.items![0].buttons;
    assert.deepStrictEqual(openButton.request, { kind: 'file', action: 'open', file: 'artifact:0' });
    assert.deepStrictEqual(revealButton.request, { kind: 'file', action: 'reveal', file: 'artifact:0' });
    assert.strictEqual(revealButton.label, 'Reveal in OS');
    assert.strictEqual(files.get('artifact:0'), path.join(DIR, 'artifacts', 'model.pkl'));
    assert.strictEqual(files.get('output:1'), path.join(MANIFEST.cwd, 'relative', 'report.txt'));
    for (const b of allButtons(show)) {
      if (b.request.kind === 'file') {
        assert.ok(files.has(b.request.file), `${b.label}: ${b.request.file} is registered`);
      }
    }
    const inBrowser = buildDetails(input({ revealIn: 'explorer' })).show;
    assert.strictEqual(sectionOf(inBrowser, 'artifacts').items![0].buttons[1].label, 'Reveal in Explorer');
  });

  it('shows the result, the environment, git, the command line, the script and the log tails', () => {
    const { show, files } = buildDetails(input());
    assert.strictEqual(sectionOf(show, 'result').texts![0].text, '{\n  "accuracy": 0.97\n}');
    const env = sectionOf(show, 'environment');
    assert.strictEqual(field(env.fields, 'OS'), 'Linux 6.1 x64');
    assert.strictEqual(field(env.fields, 'CPUs'), '8');
    assert.strictEqual(field(env.fields, 'Memory'), '16 GB');
    assert.strictEqual(field(env.fields, 'GPUs'), 'GPU 0: Tesla T4');
    assert.strictEqual(field(env.fields, 'python'), '3.11.7');
    assert.strictEqual(env.texts![0].text, 'numpy==1.26.4\nscikit-learn==1.4.0');
    assert.strictEqual(env.texts![0].collapsed, true);
    assert.strictEqual(files.get('packages'), path.join(DIR, 'packages.txt'));
    const git = sectionOf(show, 'git');
    assert.strictEqual(field(git.fields, 'Commit'), 'a'.repeat(40));
    assert.strictEqual(field(git.fields, 'Uncommitted changes'), 'yes');
    assert.strictEqual(files.get('diff'), path.join(DIR, 'git.diff'));
    const command = sectionOf(show, 'command');
    assert.strictEqual(field(command.fields, 'Command line'), "python3 train.py --lr 0.1 'two words'");
    const script = sectionOf(show, 'script');
    assert.deepStrictEqual(script.buttons![0].request, { kind: 'command', command: 'compareScript' });
    const logs = sectionOf(show, 'logs');
    assert.strictEqual(logs.texts!.length, 1, 'stderr.log does not exist');
    assert.strictEqual(logs.texts![0].label, 'stdout.log');
    assert.strictEqual(logs.texts![0].text, 'epoch 1\ntraining done');
    assert.strictEqual(logs.texts![0].note, '2 lines');
  });

  it('says what is missing: no git, no script copy, no packages, no result, no logs', () => {
    const { show, files } = buildDetails(
      input({
        details: details(
          { result: null, artifacts: [], inputs: [], outputs: [], params: {}, metrics: [], tags: {} },
          { git: null, script: null, packages: null },
        ),
        logs: [],
        packages: undefined,
      }),
    );
    assert.match(sectionOf(show, 'git').empty!, /Not run in a git repository/);
    assert.strictEqual(sectionOf(show, 'git').fields, undefined);
    assert.match(sectionOf(show, 'script').empty!, /No copy of the script/);
    assert.strictEqual(sectionOf(show, 'script').buttons, undefined);
    assert.strictEqual(field(sectionOf(show, 'environment').fields, 'Packages'), 'not captured');
    assert.strictEqual(sectionOf(show, 'environment').buttons, undefined);
    assert.match(sectionOf(show, 'result').empty!, /No result/);
    assert.strictEqual(sectionOf(show, 'params').table, undefined);
    assert.strictEqual(sectionOf(show, 'metrics').table, undefined);
    assert.strictEqual(sectionOf(show, 'logs').texts!.length, 0);
    const commands = show.buttons.map((b) => (b.request.kind === 'command' ? b.request.command : b.request.action));
    assert.ok(!commands.includes('compareScript') && !commands.includes('openLog'));
    assert.ok(!files.has('diff') && !files.has('packages') && !files.has('script-copy'));
  });

  it('shows a running run with its duration so far and a Stop button instead of Re-run and Delete', () => {
    const { show } = buildDetails(
      input({ details: details({ status: 'running', endedAt: null, durationMs: null, exitCode: null }) }),
    );
    assert.strictEqual(show.status, 'running');
    assert.strictEqual(field(show.header, 'Duration'), '10.0 s so far');
    assert.strictEqual(field(show.header, 'Ended'), 'still running');
    const commands = show.buttons.flatMap((b) => (b.request.kind === 'command' ? [b.request.command] : []));
    assert.deepStrictEqual(commands, ['openLog', 'compareScript', 'stop']);
  });

  it('shows a failed run with its exit code', () => {
    const { show } = buildDetails(input({ details: details({ status: 'failed', exitCode: 3 }) }));
    assert.strictEqual(show.statusLabel, 'failed (exit code 3)');
  });

  it('shows a deleted run as such, with no buttons and no files', () => {
    const { show, files } = buildDetails(input({ deleted: true }));
    assert.match(show.deleted!, /was deleted/);
    assert.deepStrictEqual(allButtons(show), []);
    assert.strictEqual(files.size, 0);
    assert.strictEqual(sectionOf(show, 'params').table!.rows.length, 5, 'the last known record stays');
  });

  it('never splits a surrogate pair when cutting', () => {
    assert.strictEqual(cut('ab😀cd', 3), 'ab…');
    assert.strictEqual(cut('ab😀cd', 4), 'ab😀…');
    assert.strictEqual(cut('short', 10), 'short');
  });

  describe('files of the run', () => {
    let dir: string;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-details-'));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('reads the last 200 lines of a big log, as a terminal shows them', async () => {
      const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i}`);
      lines.push('\x1b[32mgreen\x1b[0m text', 'progress 10%\rprogress 50%\rprogress 100%');
      fs.writeFileSync(path.join(dir, 'stdout.log'), lines.join('\n') + '\n');
      const tail = await readLogTail(dir, 'stdout.log');
      assert.strictEqual(tail.exists, true);
      assert.strictEqual(tail.lines.length, 200);
      assert.strictEqual(tail.totalLines, undefined, 'only the end was read');
      assert.deepStrictEqual(tail.lines.slice(-3), ['line 19999', 'green text', 'progress 100%']);
      const { show } = buildDetails(input({ logs: [tail] }));
      assert.match(sectionOf(show, 'logs').texts![0].note!, /^last 200 lines of \d+ KB$/);
    });

    it('reads a short log whole, and reports a missing one', async () => {
      fs.writeFileSync(path.join(dir, 'stderr.log'), 'warning\n');
      assert.deepStrictEqual(await readLogTail(dir, 'stderr.log'), {
        name: 'stderr.log',
        exists: true,
        lines: ['warning'],
        totalLines: 1,
        bytes: 8,
      });
      assert.strictEqual((await readLogTail(dir, 'nothing.log')).exists, false);
    });

    it('reads the packages list', async () => {
      fs.writeFileSync(path.join(dir, 'packages.txt'), 'numpy==1.26.4\n\nscikit-learn==1.4.0\n');
      assert.deepStrictEqual(await readPackages(dir, 'packages.txt'), {
        lines: ['numpy==1.26.4', 'scikit-learn==1.4.0'],
        truncated: false,
      });
      assert.strictEqual(await readPackages(dir, null), undefined);
      assert.strictEqual(await readPackages(dir, 'missing.txt'), undefined);
    });
  });
});
