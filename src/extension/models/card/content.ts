import type { Model, ModelVersionDetails } from '../../../protocol/models';
import type {
  CardAction,
  CardLineage,
  CardService,
  CardVersion,
  ShowMessage,
} from '../../../protocol/webviews/model-card';
import type { RecordField, RecordTable } from '../../../protocol/webviews/record-page';
import { formatBytes, formatCount, formatShortDate } from '../../datasets/format';
import { cut, formatNumber, json } from '../../experiments/details/content';

/** Longest param key and value shown in a cell; the card is an overview, the experiment has the rest. */
const MAX_KEY_CHARS = 120;
const MAX_VALUE_CHARS = 400;

export interface CardInput {
  readonly version: ModelVersionDetails;
  /** the model with all its versions; undefined when it could not be read (the card lists this version only) */
  readonly model: Model | undefined;
  /** why the card shows a deleted version ("v2 was deleted."), when it does */
  readonly deleted?: string;
  /**
   * the lab is reached by URL: the version's file is on the lab's machine, so the card offers neither
   * Reveal nor Copy Path (a path there means nothing here)
   */
  readonly remote?: boolean;
}

/** "iris:v2" */
export function modelRef(name: string, version: number): string {
  return `${name}:v${version}`;
}

/** The status colour of a service: healthy/running green, starting yellow, failures red, stopped grey. */
export function serviceTone(status: string): CardService['tone'] {
  switch (status) {
    case 'healthy':
    case 'running':
      return 'ok';
    case 'starting':
      return 'warn';
    case 'unhealthy':
    case 'exited':
      return 'bad';
    default:
      return 'idle';
  }
}

function paramsTable(params: Readonly<Record<string, unknown>>): RecordTable | undefined {
  const entries = Object.entries(params);
  if (entries.length === 0) {
    return undefined;
  }
  return {
    columns: ['Param', 'Value (JSON)'],
    rows: entries.map(([k, v]) => [cut(k, MAX_KEY_CHARS), cut(json(v), MAX_VALUE_CHARS)]),
    numeric: [false, false],
    monospace: [true, true],
    label: 'Params',
  };
}

function metricsTable(lineage: NonNullable<ModelVersionDetails['lineage']>): RecordTable | undefined {
  if (lineage.metrics.length === 0) {
    return undefined;
  }
  return {
    columns: ['Metric', 'Last', 'Min', 'Max', 'Count'],
    rows: lineage.metrics.map((m) => [
      cut(m.key, MAX_KEY_CHARS),
      formatNumber(m.lastRaw), // NaN and infinities as logged
      formatNumber(m.min),
      formatNumber(m.max),
      formatCount(m.count),
    ]),
    numeric: [false, true, true, true, true],
    monospace: [true, false, false, false, false],
    label: 'Metrics',
  };
}

function lineageOf(v: ModelVersionDetails): CardLineage | null {
  const l = v.lineage;
  if (!l) {
    return v.experimentId
      ? { experiment: v.experimentId, experimentDeleted: 'The experiment could not be read.', inputs: [] }
      : null;
  }
  const inputs = l.inputs.map((i) =>
    i.version === null ? `${i.dataset} (latest at the time)` : `${i.dataset}:v${i.version}`,
  );
  if (l.experimentName === null) {
    return {
      experiment: l.experimentId,
      experimentDeleted: 'The experiment was deleted after this version was registered.',
      params: paramsTable(l.params),
      metrics: metricsTable(l),
      inputs,
    };
  }
  return {
    experiment: `${l.experimentName} (${l.experimentId})`,
    params: paramsTable(l.params),
    metrics: metricsTable(l),
    inputs,
  };
}

function fieldsOf(v: ModelVersionDetails): RecordField[] {
  return [
    { label: 'File', value: v.fileName, monospace: true },
    { label: 'Size', value: `${formatBytes(v.size)} (${formatCount(v.size)} bytes)` },
    { label: 'SHA-256', value: v.sha256, monospace: true },
    { label: 'Created', value: `${formatShortDate(v.createdAt)} by ${v.operator || 'unknown'}` },
    {
      label: 'Loaded as',
      value: v.entryPoint ? `entry point ${v.entryPoint}` : 'pickled estimator (predict method)',
      monospace: !!v.entryPoint,
    },
    { label: 'Registered from', value: v.sourcePath, monospace: true },
    { label: 'Stored at', value: v.path, monospace: true },
  ];
}

function versionsOf(input: CardInput): CardVersion[] {
  const list = input.model?.versions ?? [input.version];
  return [...list]
    .sort((a, b) => b.version - a.version) // newest first
    .map((v) => ({
      version: v.version,
      label: `v${v.version}`,
      aliases: v.aliases,
      detail: `${formatShortDate(v.createdAt)} · ${formatBytes(v.size)}`,
      current: v.version === input.version.version,
    }));
}

/** Builds what the model card shows for a version. */
export function buildCard(input: CardInput): ShowMessage {
  const v = input.version;
  // a version's own aliases may be stale when the model moved one since; the model's map wins
  const aliases = input.model
    ? Object.entries(input.model.aliases)
        .filter(([, n]) => n === v.version)
        .map(([a]) => a)
        .sort()
    : [...v.aliases];
  const lineage = lineageOf(v);
  const actions: CardAction[] = [];
  if (!input.deleted) {
    actions.push('deploy', 'setAlias', 'playground');
    if (lineage && !lineage.experimentDeleted) {
      actions.push('openExperiment');
    }
    if (!input.remote) {
      actions.push('revealFile', 'copyPath');
    }
  }
  return {
    type: 'show',
    ref: modelRef(v.name, v.version),
    title: `${v.name} v${v.version}`,
    aliases,
    description: v.description || input.model?.description || '',
    tags: v.tags.length > 0 ? v.tags : (input.model?.tags ?? []),
    deleted: input.deleted,
    fields: fieldsOf(v),
    lineage,
    services: v.services.map((s) => ({ name: s.name, status: s.status, tone: serviceTone(s.status) })),
    versions: versionsOf(input),
    actions,
  };
}
