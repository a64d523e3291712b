import * as path from 'path';
import { formatDatasetRef } from '../../../protocol/dataset-ref';
import type { ExperimentDetails, MetricSummary } from '../../../protocol/experiments';
import type {
  DetailsButton,
  DetailsItem,
  DetailsSection,
  DetailsText,
  ShowMessage,
} from '../../../protocol/webviews/experiment-details';
import { formatFull, formatValue } from '../../../protocol/number-format';
import type { RecordField } from '../../../protocol/webviews/record-page';
import { formatBytes, formatCount } from '../../datasets/format';

/** Longest param key and value shown in a table cell; the rest is cut with a note of the full length. */
export const MAX_KEY_CHARS = 200;
export const MAX_VALUE_CHARS = 500;
/** Longest full value kept for the hover of a shortened cell. */
const MAX_TITLE_CHARS = 10_000;
/** Longest result shown (pretty-printed JSON). */
const MAX_RESULT_CHARS = 20_000;

/** The last lines of a log file of the run, read by the panel. */
export interface LogTail {
  /** 'stdout.log' or 'stderr.log' */
  readonly name: string;
  readonly exists: boolean;
  readonly lines: readonly string[];
  /** lines in the whole file, when it was read in full; undefined when only its end was read */
  readonly totalLines?: number;
  readonly bytes: number;
}

/** The installed-packages list of the run, read by the panel. */
export interface PackagesList {
  readonly lines: readonly string[];
  readonly truncated: boolean;
}

export interface DetailsInput {
  readonly details: ExperimentDetails;
  readonly logs: readonly LogTail[];
  readonly packages?: PackagesList;
  /** the clock, for the duration of a running run (unix ms) */
  readonly now: number;
  /** where Reveal shows a file: the OS file manager (desktop) or the Explorer view (browser, remote) */
  readonly revealIn: 'os' | 'explorer';
  /** set when the experiment was deleted while shown */
  readonly deleted?: boolean;
  /** the URL of the lab reached by URL that keeps the run (its files are on that lab's machine) */
  readonly remoteLab?: string;
}

export interface DetailsContent {
  readonly show: ShowMessage;
  /** the files the buttons may open or reveal: key -> absolute path */
  readonly files: ReadonlyMap<string, string>;
}

/** Cuts `s` to at most `max` characters without splitting a surrogate pair. */
export function cut(s: string, max: number): string {
  if (s.length <= max) {
    return s;
  }
  let end = max;
  const code = s.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) {
    end--; // the first half of a pair: drop it too
  }
  return s.slice(0, end) + '…';
}

/** A long text shortened for a cell, with its length; the hover shows more. */
function shorten(s: string, max: number): { value: string; title?: string } {
  if (s.length <= max) {
    return { value: s };
  }
  return { value: `${cut(s, max)} (${formatCount(s.length)} characters)`, title: cut(s, MAX_TITLE_CHARS) };
}

/** JSON of a recorded value; never throws (a value that JSON cannot hold is shown as text). */
export function json(value: unknown, indent?: number): string {
  try {
    return JSON.stringify(value, null, indent) ?? String(value);
  } catch {
    return String(value);
  }
}

export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) {
    return '—';
  }
  const s = Math.max(0, ms) / 1000;
  if (s < 60) {
    return `${s.toFixed(1)} s`;
  }
  if (s < 3600) {
    return `${Math.floor(s / 60)} min ${Math.floor(s % 60)} s`;
  }
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/**
 * A metric value in the one number format (4 significant digits, integers whole); NaN and infinities
 * as logged; null (no finite value) as a dash.
 */
export function formatNumber(v: number | string | null): string {
  return formatValue(v);
}

/** The full value of a shortened number, for its hover; '' when nothing was shortened. */
function fullTitle(v: number | string | null): string {
  return typeof v === 'number' && formatValue(v) !== formatFull(v) ? formatFull(v) : '';
}

function formatDate(iso: string | null): string {
  if (!iso) {
    return '—';
  }
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

const open = (file: string, label = 'Open', title?: string): DetailsButton => ({
  label,
  title,
  request: { kind: 'file', action: 'open', file },
});

/** Builds what the details panel shows for a run, and the files its buttons may open. */
export function buildDetails(input: DetailsInput): DetailsContent {
  const { details: e, deleted } = input;
  const m = e.manifest;
  const files = new Map<string, string>();
  /** registers a file and returns its key; none once the run directory is gone */
  const file = (key: string, absolute: string) => {
    files.set(key, absolute);
    return key;
  };
  const reveal = (key: string): DetailsButton => ({
    label: input.revealIn === 'os' ? 'Reveal in OS' : 'Reveal in Explorer',
    title:
      input.revealIn === 'os' ? "Show the file in the system's file manager" : 'Show the file in the Explorer view',
    request: { kind: 'file', action: 'reveal', file: key },
  });
  const live = !deleted;
  const buttons = (...b: (DetailsButton | false | undefined)[]) =>
    live ? b.filter((x): x is DetailsButton => !!x) : [];

  const running = e.status === 'running';
  const durationMs = running ? input.now - Date.parse(e.startedAt) : e.durationMs;
  const header: RecordField[] = [
    { label: 'Run ID', value: e.id, monospace: true },
    { label: 'Started', value: formatDate(e.startedAt), title: e.startedAt },
    { label: 'Ended', value: running ? 'still running' : formatDate(e.endedAt), title: e.endedAt ?? undefined },
    { label: 'Duration', value: formatDuration(durationMs) + (running ? ' so far' : '') },
    { label: 'Exit code', value: e.exitCode === null ? '—' : String(e.exitCode) },
    { label: 'Operator', value: e.operator },
    { label: 'Run directory', value: e.dir, monospace: true },
  ];
  const statusLabel =
    e.exitCode !== null && e.status !== 'completed' ? `${e.status} (exit code ${e.exitCode})` : e.status;

  const stdout = path.join(e.dir, 'stdout.log');
  const headerButtons = buttons(
    input.logs.some((l) => l.name === 'stdout.log' && l.exists) && {
      label: 'Open Log',
      title: 'Open stdout.log in an editor',
      request: { kind: 'command', command: 'openLog' },
    },
    !!m.script && {
      label: 'Compare Script',
      title: "Compare the run's copy of the script with the workspace version",
      request: { kind: 'command', command: 'compareScript' },
    },
    running && { label: 'Stop', title: 'Stop the run (SIGTERM)', request: { kind: 'command', command: 'stop' } },
    !running && {
      label: 'Re-run',
      title: 'Run the same command with the same params',
      primary: true,
      request: { kind: 'command', command: 'rerun' },
    },
    !running && {
      label: 'Re-run with Changed Params...',
      request: { kind: 'command', command: 'rerunWithParams' },
    },
    { ...reveal(file('run', e.dir)), label: 'Reveal Run Directory', title: 'Show the run directory' },
    !running && {
      label: 'Delete...',
      title: 'Delete this experiment',
      request: { kind: 'command', command: 'delete' },
    },
  );

  const sections: DetailsSection[] = [
    ...warningsSection(e.warnings),
    paramsSection(e.params),
    metricsSection(e.metrics),
    {
      id: 'io',
      title: 'Inputs and Outputs',
      items: [
        ...e.inputs.map((i): DetailsItem => ({
          label: i.version === null ? `${i.dataset} (latest)` : formatDatasetRef(i.dataset, i.version),
          detail: 'input dataset',
          buttons: [],
        })),
        ...e.outputs.map((o, n): DetailsItem => {
          const key = file(`output:${n}`, path.isAbsolute(o) ? o : path.join(m.cwd, o));
          return { label: o, detail: 'output', buttons: buttons(open(key), reveal(key)) };
        }),
      ],
      empty: 'No inputs or outputs recorded.',
    },
    {
      id: 'artifacts',
      title: `Artifacts${e.artifacts.length > 0 ? ` (${formatCount(e.artifacts.length)})` : ''}`,
      items: e.artifacts.map((a, n): DetailsItem => {
        const key = file(`artifact:${n}`, path.join(e.dir, a.path));
        const register: DetailsButton = {
          label: 'Register as Model',
          title: 'Register this file as the next version of a model, traced to this run',
          request: { kind: 'file', action: 'registerModel', file: key },
        };
        return { label: a.path, detail: `from ${a.source}`, buttons: buttons(open(key), reveal(key), register) };
      }),
      empty: 'No artifacts logged.',
    },
    resultSection(e.result),
    logsSection(input.logs, (name) => file(name, path.join(e.dir, name)), live, stdout, input.remoteLab),
    {
      id: 'tags',
      title: 'Tags',
      table:
        Object.keys(e.tags).length > 0
          ? {
              columns: ['Tag', 'Value'],
              rows: Object.entries(e.tags).map(([k, v]) => [cut(k, MAX_KEY_CHARS), cut(v, MAX_VALUE_CHARS)]),
              numeric: [false, false],
            }
          : undefined,
      empty: 'No tags.',
    },
    environmentSection(input, live && m.packages ? file('packages', path.join(e.dir, m.packages)) : undefined),
    gitSection(e, live && m.git?.diff ? file('diff', path.join(e.dir, m.git.diff)) : undefined),
    {
      id: 'command',
      title: 'Command',
      fields: [
        { label: 'Command line', value: m.command.map(shellQuote).join(' ') || '—', monospace: true },
        { label: 'Working directory', value: m.cwd, monospace: true },
      ],
    },
    scriptSection(e, live ? file : undefined),
  ];

  return {
    show: {
      type: 'show',
      id: e.id,
      title: e.name,
      status: e.status,
      statusLabel,
      deleted: deleted ? 'This experiment was deleted. What is shown is its last known record.' : undefined,
      header,
      buttons: headerButtons,
      sections,
    },
    files: live ? files : new Map(),
  };
}

function shellQuote(s: string): string {
  return /^[\w./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * What the backend refused or cut while ingesting the run (values over the limits, links it did not
 * follow), first, so that a cut param is not taken for the value the code logged; no section when
 * there is none.
 */
function warningsSection(warnings: readonly string[] | undefined): DetailsSection[] {
  if (!warnings || warnings.length === 0) {
    return [];
  }
  return [
    {
      id: 'warnings',
      title: `Warnings (${formatCount(warnings.length)})`,
      texts: [{ text: warnings.map((w) => cut(w, MAX_VALUE_CHARS)).join('\n') }],
    },
  ];
}

function paramsSection(params: Readonly<Record<string, unknown>>): DetailsSection {
  const entries = Object.entries(params);
  return {
    id: 'params',
    title: `Params${entries.length > 0 ? ` (${formatCount(entries.length)})` : ''}`,
    table:
      entries.length > 0
        ? {
            columns: ['Param', 'Value (JSON)'],
            rows: entries.map(([k, v]) => [cut(k, MAX_KEY_CHARS), shorten(json(v), MAX_VALUE_CHARS).value]),
            numeric: [false, false],
            monospace: [true, true],
          }
        : undefined,
    empty: 'No params recorded.',
  };
}

function metricsSection(metrics: readonly MetricSummary[]): DetailsSection {
  return {
    id: 'metrics',
    title: `Metrics${metrics.length > 0 ? ` (${formatCount(metrics.length)})` : ''}`,
    table:
      metrics.length > 0
        ? {
            columns: ['Metric', 'Last', 'Min', 'Max', 'Count', 'Last step'],
            rows: metrics.map((x) => [
              cut(x.key, MAX_KEY_CHARS),
              formatNumber(x.lastRaw),
              formatNumber(x.min),
              formatNumber(x.max),
              formatCount(x.count),
              String(x.lastStep),
            ]),
            numeric: [false, true, true, true, true, true],
            monospace: [true, false, false, false, false, false],
            titles: metrics.map((x) => ['', fullTitle(x.lastRaw), fullTitle(x.min), fullTitle(x.max), '', '']),
          }
        : undefined,
    empty: 'No metrics logged.',
  };
}

function resultSection(result: unknown): DetailsSection {
  if (result === null || result === undefined) {
    return { id: 'result', title: 'Result', empty: 'No result recorded.' };
  }
  const text = json(result, 2);
  return {
    id: 'result',
    title: 'Result',
    texts: [
      {
        text: cut(text, MAX_RESULT_CHARS),
        note:
          text.length > MAX_RESULT_CHARS
            ? `first ${formatCount(MAX_RESULT_CHARS)} of ${formatCount(text.length)} characters`
            : undefined,
      },
    ],
  };
}

function logsSection(
  logs: readonly LogTail[],
  file: (name: string) => string,
  live: boolean,
  stdout: string,
  remoteLab?: string,
): DetailsSection {
  if (remoteLab) {
    return {
      id: 'logs',
      title: 'Logs',
      texts: [],
      empty: `The run's output logs are kept on the machine of the lab at ${remoteLab}: showing them here is not available for a lab reached by URL yet.`,
    };
  }
  const texts = logs
    .filter((l) => l.exists)
    .map((l): DetailsText => {
      const key = file(l.name);
      const shown = `${formatCount(l.lines.length)} line${l.lines.length === 1 ? '' : 's'}`;
      const note =
        l.totalLines !== undefined
          ? l.totalLines > l.lines.length
            ? `last ${shown} of ${formatCount(l.totalLines)}`
            : shown
          : `last ${shown} of ${formatBytes(l.bytes)}`;
      return {
        label: l.name,
        text: l.lines.length > 0 ? l.lines.join('\n') : '(empty)',
        note,
        tail: true,
        buttons: live
          ? [
              l.name === 'stdout.log'
                ? { label: 'Open Full Log', title: stdout, request: { kind: 'command', command: 'openLog' } }
                : open(key, 'Open Full Log'),
            ]
          : [],
      };
    });
  return { id: 'logs', title: 'Logs', texts, empty: 'No output captured (no stdout.log or stderr.log).' };
}

function environmentSection(input: DetailsInput, packagesKey: string | undefined): DetailsSection {
  const { host, runtime, packages } = input.details.manifest;
  const list = input.packages;
  return {
    id: 'environment',
    title: 'Environment',
    fields: [
      { label: 'Host', value: host.hostname },
      { label: 'OS', value: host.os },
      { label: 'CPUs', value: String(host.cpus) },
      { label: 'Memory', value: formatBytes(host.memoryBytes) },
      { label: 'GPUs', value: host.gpus.length > 0 ? host.gpus.join('\n') : 'none' },
      ...Object.entries(runtime).map(([k, v]) => ({ label: k, value: v })),
      {
        label: 'Packages',
        value: packages
          ? `${packages}${list ? `, ${formatCount(list.lines.length)}${list.truncated ? '+' : ''}` : ''}`
          : 'not captured',
      },
    ],
    texts:
      list && list.lines.length > 0
        ? [
            {
              label: 'Installed packages',
              text: list.lines.join('\n'),
              note: list.truncated ? `first ${formatCount(list.lines.length)} lines` : undefined,
              collapsed: true,
            },
          ]
        : undefined,
    buttons: packagesKey ? [open(packagesKey, 'Open Packages List')] : undefined,
  };
}

function gitSection(e: ExperimentDetails, diffKey: string | undefined): DetailsSection {
  const git = e.manifest.git;
  if (!git) {
    return { id: 'git', title: 'Git', empty: 'Not run in a git repository (or git was not available).' };
  }
  return {
    id: 'git',
    title: 'Git',
    fields: [
      { label: 'Commit', value: git.commit ?? '—', monospace: true },
      { label: 'Branch', value: git.branch ?? '(detached)' },
      { label: 'Uncommitted changes', value: git.dirty ? 'yes' : 'no' },
      ...(git.script && git.script !== 'tracked'
        ? [
            {
              label: 'Script',
              value:
                git.script === 'ignored'
                  ? 'ignored by git (.gitignore): neither the commit nor the changes hold it; the run kept a copy'
                  : 'not tracked by git: neither the commit nor the changes hold it; the run kept a copy',
            },
          ]
        : []),
    ],
    buttons: diffKey
      ? [open(diffKey, 'Open Diff', 'The uncommitted changes at the start of the run (git.diff)')]
      : undefined,
  };
}

function scriptSection(
  e: ExperimentDetails,
  file: ((key: string, absolute: string) => string) | undefined,
): DetailsSection {
  const script = e.manifest.script;
  if (!script) {
    return { id: 'script', title: 'Script', empty: 'No copy of the script was kept.' };
  }
  const copy = file?.('script-copy', path.join(e.dir, script.copy));
  return {
    id: 'script',
    title: 'Script',
    fields: [
      { label: 'Script', value: script.path, monospace: true },
      { label: "Run's copy", value: script.copy, monospace: true },
    ],
    buttons: copy
      ? [
          {
            label: 'Compare with Workspace Version',
            primary: true,
            request: { kind: 'command', command: 'compareScript' },
          },
          open(copy, "Open Run's Copy"),
        ]
      : undefined,
  };
}
