import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cellText, decodeRow, type Row } from '../../src/common/compare/cells';
import { deriveColumns, encodeRow } from '../../src/common/compare/columns';
import { toCsv } from '../../src/common/compare/csv';
import { controlFilters, filterRows, parseFilterText } from '../../src/common/compare/filter';
import { sortRows, toggleSort } from '../../src/common/compare/sort';
import { differingColumns, groupLines } from '../../src/common/compare/view';
import { tableCsv, writeFileAtomic } from '../../src/extension/experiments/compare/export';
import { CHUNK, FIRST_CHUNK, TableRows } from '../../src/extension/experiments/compare/table-rows';
import type { Experiment, MetricSummary } from '../../src/protocol/experiments';
import type { ColumnDef, TableRowsMessage, WireRow } from '../../src/protocol/webviews/compare-table';
import { runLabels, type LabelSource } from '../../src/protocol/run-label';
import { computeView, differingParamColumns, LabelCache, rowLabels } from '../../webviews/compare-table/compute';
import { TableData } from '../../webviews/compare-table/data';
import { DEFAULT_STATE } from '../../webviews/compare-table/state';
import { generateExperiments, tableMessage } from '../browser/compare-table-data';

function metric(
  key: string,
  last: number | 'NaN',
  min: number | null = null,
  max: number | null = null,
): MetricSummary {
  return {
    key,
    count: 3,
    last: typeof last === 'number' ? last : null,
    lastStep: 2,
    min,
    max,
    lastRaw: last,
  };
}

function experiment(id: string, over: Partial<Experiment> = {}): Experiment {
  return {
    id,
    projectId: 'p',
    name: `run-${id}`,
    status: 'completed',
    startedAt: '2026-03-01T10:00:00.000Z',
    endedAt: null,
    durationMs: 1000,
    exitCode: 0,
    operator: 'ada',
    params: {},
    tags: {},
    metrics: [],
    dir: `/runs/${id}`,
    ...over,
  };
}

/** Rows decoded as the webview does from what the host encodes. */
function table(experiments: Experiment[]): { columns: ColumnDef[]; rows: Row[]; index: Map<string, number> } {
  const columns = deriveColumns(experiments);
  const rows = experiments.map((e) => decodeRow(JSON.parse(JSON.stringify(encodeRow(e, columns))), columns));
  return { columns, rows, index: new Map(columns.map((c, i) => [c.id, i])) };
}

const ids = (rows: Row[], positions: number[]) => positions.map((p) => rows[p].id);
const all = (rows: Row[]) => rows.map((_, i) => i);

describe('compare table logic', () => {
  const runs = [
    experiment('a', { params: { lr: 0.1, model: 'resnet' }, metrics: [metric('acc', 0.9, 0.1, 0.9)] }),
    experiment('b', {
      params: { lr: 0.01, model: 'vit' },
      metrics: [metric('acc', 'NaN', 0.2, 0.8)],
      status: 'failed',
    }),
    experiment('c', { params: { lr: 0.1, model: 'vit' }, metrics: [] }),
    experiment('d', { params: { lr: 0.001, model: 'resnet' }, metrics: [metric('acc', 0.95, 0.3, 0.95)] }),
    experiment('e', { params: { model: 'Resnet' }, metrics: [metric('acc', 0.9, 0.1, 0.9)], status: 'running' }),
  ];

  describe('columns', () => {
    it('derives the run columns, one per param key and last/min/max per metric key', () => {
      const { columns } = table(runs);
      assert.deepStrictEqual(
        columns.map((c) => `${c.id}:${c.kind}`),
        [
          'name:text',
          'status:status',
          'started:date',
          'duration:number',
          'operator:text',
          'runId:text',
          'params.lr:number',
          'params.model:text',
          'metrics.acc.last:number',
          'metrics.acc.min:number',
          'metrics.acc.max:number',
        ],
      );
    });

    it('makes a param column text when one run holds a non-number, and encodes booleans and objects as text', () => {
      const { columns, rows } = table([
        experiment('x', { params: { lr: 0.1, aug: true, layers: [1, 2] } }),
        experiment('y', { params: { lr: 'auto' } }),
      ]);
      assert.strictEqual(columns.find((c) => c.id === 'params.lr')!.kind, 'text');
      const at = (id: string) => columns.findIndex((c) => c.id === id);
      assert.deepStrictEqual(rows[0].cells[at('params.aug')], 'true');
      assert.deepStrictEqual(rows[0].cells[at('params.layers')], '[1,2]');
      assert.deepStrictEqual(rows[1].cells[at('params.aug')], null);
    });

    it('keeps NaN as a number through the JSON message', () => {
      const { rows, index } = table(runs);
      assert.ok(Number.isNaN(rows[1].cells[index.get('metrics.acc.last')!]));
    });
  });

  describe('sort', () => {
    it('sorts by one column, NaN after numbers and missing values last, in both directions', () => {
      const { rows, index } = table(runs);
      const asc = sortRows(rows, all(rows), [{ column: 'metrics.acc.last', descending: false }], index);
      assert.deepStrictEqual(ids(rows, asc), ['a', 'e', 'd', 'b', 'c']);
      const desc = sortRows(rows, all(rows), [{ column: 'metrics.acc.last', descending: true }], index);
      assert.deepStrictEqual(ids(rows, desc), ['d', 'a', 'e', 'b', 'c']);
    });

    it('sorts by several columns, stable for full ties', () => {
      const { rows, index } = table(runs);
      const keys = [
        { column: 'params.lr', descending: true },
        { column: 'params.model', descending: false },
      ];
      // lr 0.1 (a resnet, c vit), 0.01 (b), 0.001 (d), missing (e)
      assert.deepStrictEqual(ids(rows, sortRows(rows, all(rows), keys, index)), ['a', 'c', 'b', 'd', 'e']);
      const tie = sortRows(rows, all(rows), [{ column: 'operator', descending: false }], index);
      assert.deepStrictEqual(ids(rows, tie), ['a', 'b', 'c', 'd', 'e'], 'equal rows keep their order');
    });

    it('compares text naturally and case-insensitively, and ignores unknown columns', () => {
      const { rows, index } = table([experiment('1', { name: 'run-10' }), experiment('2', { name: 'Run-2' })]);
      assert.deepStrictEqual(ids(rows, sortRows(rows, [0, 1], [{ column: 'name', descending: false }], index)), [
        '2',
        '1',
      ]);
      assert.deepStrictEqual(ids(rows, sortRows(rows, [0, 1], [{ column: 'nope', descending: false }], index)), [
        '1',
        '2',
      ]);
    });

    it('toggles sort keys: click replaces or flips, shift-click adds or flips in place', () => {
      let keys = toggleSort([], 'lr', false);
      assert.deepStrictEqual(keys, [{ column: 'lr', descending: false }]);
      keys = toggleSort(keys, 'lr', false);
      assert.deepStrictEqual(keys, [{ column: 'lr', descending: true }]);
      keys = toggleSort(keys, 'acc', true);
      assert.deepStrictEqual(keys, [
        { column: 'lr', descending: true },
        { column: 'acc', descending: false },
      ]);
      keys = toggleSort(keys, 'acc', true);
      assert.deepStrictEqual(keys[1], { column: 'acc', descending: true });
      assert.deepStrictEqual(toggleSort(keys, 'acc', false), [{ column: 'acc', descending: false }]);
    });
  });

  describe('filters', () => {
    const { columns, rows } = table(runs);
    const apply = (text: string) => {
      const parsed = parseFilterText(text, columns);
      assert.deepStrictEqual(parsed.errors, []);
      return ids(rows, filterRows(rows, parsed.filters, columns));
    };

    it('compares numbers; NaN and missing values match no comparison but !=', () => {
      assert.deepStrictEqual(apply('lr > 0.01'), ['a', 'c']);
      assert.deepStrictEqual(apply('acc >= 0.9'), ['a', 'd', 'e']);
      assert.deepStrictEqual(apply('acc < 1'), ['a', 'd', 'e']);
      assert.deepStrictEqual(apply('lr = 0.1, acc.max >= 0.9'), ['a']);
      assert.deepStrictEqual(apply('lr != 0.1'), ['b', 'd', 'e']);
      assert.deepStrictEqual(apply('metrics.acc.min <= 0.1 and params.lr>=1e-3'), ['a']);
    });

    it('matches text: contains (~), equality ignoring case, and bare text in every text column', () => {
      assert.deepStrictEqual(apply('model ~ res'), ['a', 'd', 'e']);
      assert.deepStrictEqual(apply('model = resnet'), ['a', 'd', 'e']);
      assert.deepStrictEqual(apply('model != resnet'), ['b', 'c']);
      assert.deepStrictEqual(apply('VIT'), ['b', 'c']);
      assert.deepStrictEqual(apply('failed'), ['b']);
      assert.deepStrictEqual(apply('name contains "run-a"'), ['a']);
    });

    it('filters by a set of statuses and a range of start dates', () => {
      const dated = table([
        experiment('old', { startedAt: '2026-01-10T12:00:00.000Z' }),
        experiment('mid', { startedAt: '2026-02-15T12:00:00.000Z', status: 'failed' }),
        experiment('new', { startedAt: '2026-03-20T12:00:00.000Z', status: 'running' }),
      ]);
      const run = (statuses: string[], from: string, to: string) => {
        const parsed = controlFilters(dated.columns, statuses, from, to);
        assert.deepStrictEqual(parsed.errors, []);
        return ids(dated.rows, filterRows(dated.rows, parsed.filters, dated.columns));
      };
      assert.deepStrictEqual(run(['failed', 'running'], '', ''), ['mid', 'new']);
      assert.deepStrictEqual(run([], '2026-02-01', ''), ['mid', 'new']);
      assert.deepStrictEqual(run([], '', '2026-02-15'), ['old', 'mid'], 'the end day is included');
      assert.deepStrictEqual(run(['running'], '2026-02-01', '2026-02-28'), []);
      const parsed = parseFilterText('started >= 2026-02-01, started < 2026-03-01', dated.columns);
      assert.deepStrictEqual(ids(dated.rows, filterRows(dated.rows, parsed.filters, dated.columns)), ['mid']);
    });

    it('explains a bad clause and still applies the good ones', () => {
      const check = (text: string, message: RegExp) => {
        const parsed = parseFilterText(`${text}, lr > 0.01`, columns);
        assert.strictEqual(parsed.errors.length, 1, text);
        assert.match(parsed.errors[0], message);
        assert.deepStrictEqual(ids(rows, filterRows(rows, parsed.filters, columns)), ['a', 'c']);
      };
      check('accuracy > 0.9', /^"accuracy > 0\.9": Unknown column "accuracy"\. Columns include: .*lr.*acc/);
      check('lr > abc', /"abc" is not a number; lr holds numbers/);
      check('lr >', /a value is missing after >/);
      check('model > 3', /model holds text: use =, != or ~/);
      check('started > yesterday', /"yesterday" is not a date; write it as 2026-01-31/);
      const both = table([experiment('x', { params: { acc: 1 }, metrics: [metric('acc', 0.5)] })]);
      assert.match(
        parseFilterText('acc > 0', both.columns).errors[0],
        /both a param and a metric: write params\.acc or metrics\.acc\.last/,
      );
      assert.deepStrictEqual(controlFilters(columns, [], 'soon', '').errors, [
        '"soon" is not a date; write it as 2026-01-31.',
      ]);
    });
  });

  describe('differing columns and grouping', () => {
    it('lists the param and metric columns whose values differ among the given rows', () => {
      const { columns, rows } = table([
        experiment('x', { params: { lr: 0.1, seed: 1, opt: 'adam' }, metrics: [metric('acc', 'NaN', 0.5, 0.5)] }),
        experiment('y', { params: { lr: 0.2, seed: 1, opt: 'adam' }, metrics: [metric('acc', 'NaN', 0.5, 0.7)] }),
        experiment('z', { params: { lr: 0.2, seed: 1 }, metrics: [metric('acc', 'NaN', 0.5, 0.7)] }),
      ]);
      // the run's name and id are always kept; status, start, duration and operator are the same here
      assert.deepStrictEqual([...differingColumns(rows, [0, 1, 2], columns)].sort(), [
        'metrics.acc.max',
        'name',
        'params.lr',
        'params.opt',
        'runId',
      ]);
      assert.deepStrictEqual(
        [...differingColumns(rows, [1, 2], columns)].sort(),
        ['name', 'params.opt', 'runId'],
        'a missing value differs',
      );
      assert.deepStrictEqual([...differingColumns(rows, [], columns)], []);
    });

    it('groups sorted rows by a param with a header and count per group, missing values last', () => {
      const { columns, rows, index } = table(runs);
      const sorted = sortRows(rows, all(rows), [{ column: 'name', descending: true }], index);
      const lr = index.get('params.lr')!;
      const lines = groupLines(rows, sorted, lr, columns[lr], new Set(['n:0.01']));
      const shown = lines.map((l) =>
        l.kind === 'group' ? `[${l.label} (${l.count})${l.collapsed ? ' +' : ''}]` : rows[l.position].id,
      );
      assert.deepStrictEqual(shown, [
        '[lr = 0.001 (1)]',
        'd',
        '[lr = 0.01 (1) +]',
        '[lr = 0.1 (2)]',
        'c',
        'a',
        '[lr = (none) (1)]',
        'e',
      ]);
    });
  });

  describe('CSV', () => {
    it('quotes per RFC 4180: commas, quotes, line breaks and edge spaces; CRLF records', () => {
      const csv = toCsv(
        ['name', 'note'],
        [
          ['plain', 'a,b'],
          ['say "hi"', 'two\nlines'],
          [' padded', ''],
          ['cr\rhere', 'NaN'],
        ],
      );
      assert.strictEqual(
        csv,
        'name,note\r\nplain,"a,b"\r\n"say ""hi""","two\nlines"\r\n" padded",\r\n"cr\rhere",NaN\r\n',
      );
    });

    it('writes dates as ISO 8601 and missing values as empty fields', () => {
      const { columns, rows, index } = table(runs);
      const started = index.get('started')!;
      assert.strictEqual(cellText(rows[0].cells[started], columns[started]), '2026-03-01T10:00:00.000Z');
      const acc = index.get('metrics.acc.last')!;
      assert.strictEqual(cellText(rows[2].cells[acc], columns[acc]), '');
      assert.strictEqual(cellText(rows[1].cells[acc], columns[acc]), 'NaN');
    });
  });
  describe('CSV export of the shown table', () => {
    it('writes the chosen columns of the chosen rows in their order, skipping runs that are gone', () => {
      const runsWithText = [...runs, experiment('f', { params: { model: 'a "quoted", name' } })];
      const columns = deriveColumns(runsWithText);
      const rows = new Map(runsWithText.map((e) => [e.id, encodeRow(e, columns)]));
      const csv = tableCsv(
        columns,
        rows,
        ['name', 'params.model', 'metrics.acc.last', 'nope'],
        ['f', 'b', 'gone', 'c'],
      );
      assert.strictEqual(
        csv,
        'id,name,params.model,metrics.acc.last\r\nf,run-f,"a ""quoted"", name",\r\nb,run-b,vit,NaN\r\nc,run-c,vit,\r\n',
      );
    });

    it('writes the file whole through a temp file renamed over it, leaving no temp file', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-compare-'));
      try {
        const file = path.join(dir, 'table.csv');
        fs.writeFileSync(file, 'old');
        await writeFileAtomic(file, 'a,b\r\n');
        assert.strictEqual(fs.readFileSync(file, 'utf8'), 'a,b\r\n');
        assert.deepStrictEqual(fs.readdirSync(dir), ['table.csv']);
        await assert.rejects(writeFileAtomic(path.join(dir, 'missing', 'x.csv'), 'x'), /ENOENT/);
        assert.deepStrictEqual(fs.readdirSync(dir), ['table.csv']);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('run labels read off the param columns', () => {
    it('are the labels runLabels gives the same runs, for every param mix and subset', () => {
      for (const [runs, params] of [
        [2_000, 20],
        [300, 3],
        [50, 1],
      ]) {
        const data = new TableData();
        data.setTable(tableMessage(generateExperiments(runs, params, 3)));
        const name = data.columnIndex.get('name')!;
        const paramColumns = data.columns.flatMap((c, i) => (c.group === 'param' ? [{ key: c.key!, i }] : []));
        const all = data.rows.map((_, i) => i);
        for (const positions of [all, all.filter((i) => i % 97 === 0), [0, 1], [0]]) {
          const sources = positions.map((p): LabelSource => {
            const row = data.rows[p];
            const values: Record<string, unknown> = {};
            for (const { key, i } of paramColumns) {
              if (row.cells[i] !== null) {
                values[key] = row.cells[i];
              }
            }
            return { id: row.id, name: String(row.cells[name]), params: values };
          });
          assert.deepStrictEqual(
            [...rowLabels(data, positions)],
            [...runLabels(sources)],
            `${runs} runs, ${positions.length} shown`,
          );
        }
        assert.ok(differingParamColumns(data, all).length > 0, 'the generated runs differ in their params');
        assert.deepStrictEqual(differingParamColumns(data, [0]), [], 'a run alone differs in nothing');
      }
    });
  });

  describe('labels kept from one view to the next', () => {
    it('are those computed afresh after a sort, a metric change, a param change, new and deleted runs', () => {
      const experiments = generateExperiments(300, 6, 2);
      const data = new TableData();
      const message = tableMessage(experiments);
      data.setTable(message);
      const cache = new LabelCache();
      const same = (state = DEFAULT_STATE) =>
        assert.deepStrictEqual([...computeView(data, state, cache).labels], [...computeView(data, state).labels]);
      same();
      const kept = computeView(data, DEFAULT_STATE, cache).labels;
      same({ ...DEFAULT_STATE, sort: [{ column: 'params.p00', descending: true }] });
      const m00 = message.columns.findIndex((c) => c.id === 'metrics.m00.last') + 1;
      data.upsert([message.rows[3].map((v, i) => (i === m00 ? 0.5 : v)) as unknown as WireRow]);
      assert.strictEqual(computeView(data, DEFAULT_STATE, cache).labels, kept, 'a new metric value keeps them');
      const p01 = message.columns.findIndex((c) => c.id === 'params.p01') + 1;
      data.upsert([message.rows[4].map((v, i) => (i === p01 ? 'other' : v)) as unknown as WireRow]);
      assert.notStrictEqual(computeView(data, DEFAULT_STATE, cache).labels, kept);
      same();
      same({ ...DEFAULT_STATE, filterText: 'p00 > 0.5' });
      data.upsert([['run-new', ...message.rows[0].slice(1)] as unknown as WireRow]);
      same();
      data.delete([message.rows[5][0], message.rows[6][0]]);
      same();
    });
  });

  describe('a table delivered in chunks', () => {
    const experiments = generateExperiments(20_000, 20, 10);
    const columns = deriveColumns(experiments);
    const wires = experiments.map((e) => encodeRow(e, columns));
    const ids = (rows: readonly WireRow[]) => rows.map((r) => r[0]);

    /** Asks for every chunk after the first rows, as the page does; the chunks in order. */
    function drain(rows: TableRows, table: number, from: number): TableRowsMessage[] {
      const chunks: TableRowsMessage[] = [];
      for (let at = from; at < experiments.length;) {
        const chunk = rows.more(table, at)!;
        chunks.push(chunk);
        assert.ok(chunk.next > at, 'every chunk moves on');
        at = chunk.next;
      }
      return chunks;
    }

    it('sends every row once, in order, the first ones with the table and the others within the bounds', () => {
      const rows = new TableRows();
      rows.reset(wires);
      const first = rows.start();
      assert.strictEqual(first.total, wires.length);
      assert.ok(first.rows.length > 40, 'more than a screen at once');
      assert.ok(first.rows.length <= FIRST_CHUNK.rows);
      assert.ok(JSON.stringify(first.rows).length <= FIRST_CHUNK.chars + first.rows.length + 2);
      const chunks = drain(rows, first.table, first.rows.length);
      assert.ok(chunks.length > 5, `${chunks.length} chunks`);
      for (const c of chunks) {
        assert.ok(
          c.rows.length <= CHUNK.rows && c.rows.reduce((n, r) => n + JSON.stringify(r).length, 0) <= CHUNK.chars,
        );
      }
      assert.deepStrictEqual([...ids(first.rows), ...chunks.flatMap((c) => ids(c.rows))], ids(wires));
      assert.deepStrictEqual(rows.more(first.table, wires.length)?.rows, [], 'nothing after the end');
    });

    it('answers no request about a table replaced since, and starts each table from its first row', () => {
      const rows = new TableRows();
      rows.reset(wires);
      const old = rows.start();
      const now = rows.start();
      assert.notStrictEqual(now.table, old.table);
      assert.strictEqual(rows.more(old.table, old.rows.length), undefined);
      assert.deepStrictEqual(ids(now.rows), ids(old.rows));
      rows.reset(wires.slice(0, 3));
      assert.strictEqual(rows.more(now.table, now.rows.length), undefined, 'new rows: a new table');
      assert.deepStrictEqual(rows.start().rows, wires.slice(0, 3), 'a small table comes whole with the first message');
    });

    it('posts a change only for rows the page has or new runs; a chunk takes the other rows as they are then', () => {
      const rows = new TableRows();
      rows.reset(wires);
      const first = rows.start();
      const at = first.rows.length;
      const edited = (w: WireRow, value: number): WireRow => [w[0], ...w.slice(1, -1), value] as unknown as WireRow;
      const sentOne = edited(wires[1], 1);
      const pendingOne = edited(wires[at + 5], 2);
      const added = ['run-new', ...wires[0].slice(1)] as unknown as WireRow;
      const now = [
        added,
        ...wires
          .filter((_, i) => i !== 2 && i !== at + 6)
          .map((w) => (w === wires[1] ? sentOne : w === wires[at + 5] ? pendingOne : w)),
      ];
      const { changed, deleted } = rows.update(now);
      assert.deepStrictEqual(ids(changed), ['run-new', wires[1][0]]);
      assert.deepStrictEqual(deleted, [wires[2][0]], 'a run deleted before its chunk is left out of it instead');
      const received = [...first.rows, ...drain(rows, first.table, at).flatMap((c) => c.rows)];
      assert.ok(!ids(received).includes(wires[at + 6][0]));
      assert.deepStrictEqual(
        received.find((r) => r[0] === pendingOne[0]),
        pendingOne,
      );
      // once all are sent, every change is posted
      const back = rows.update(wires);
      assert.deepStrictEqual(ids(back.changed), ids([wires[1], wires[2], wires[at + 5], wires[at + 6]]));
      assert.deepStrictEqual(back.deleted, ['run-new']);
    });

    it('are put together by the page in the order of the host, ignoring chunks of an earlier table', () => {
      const rows = new TableRows();
      rows.reset(wires);
      const first = rows.start();
      const data = new TableData();
      data.setTable({ type: 'table', project: 'p', columns, ...first });
      assert.ok(data.loading);
      const chunks = drain(rows, first.table, first.rows.length);
      assert.strictEqual(data.append({ ...chunks[1] }), false, 'not the next one');
      assert.strictEqual(data.append({ ...chunks[0], table: first.table + 1 }), false, 'another table');
      for (const c of chunks) {
        assert.ok(data.append(c));
      }
      assert.ok(!data.loading);
      assert.deepStrictEqual(
        data.rows.map((r) => r.id),
        ids(wires),
      );
      assert.deepStrictEqual(data.rows[7], decodeRow(wires[7], columns));
    });
  });
});
