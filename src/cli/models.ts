import * as fs from 'fs';
import * as path from 'path';
import type { ApiClient } from '../client/api-client';
import type { Service } from '../protocol/containers';
import { parseModelRef, type Model, type ModelVersion, type ModelVersionDetails } from '../protocol/models';
import { confirm } from './confirm';
import { expectArgs, Output, table } from './output';
import { formatBytes } from './progress';
import { MODEL_USAGE } from './usage';

/** The base image of `model deploy` when --base-image is not given. */
export const BASE_IMAGE_ENV = 'MLLAB_MODEL_BASE_IMAGE';

export interface ModelFlags {
  readonly project?: string;
  readonly name?: string;
  readonly experiment?: string;
  readonly entryPoint?: string;
  readonly description?: string;
  readonly tag?: string[];
  readonly baseImage?: string;
  readonly port?: string;
  readonly wait?: boolean;
  readonly yes?: boolean;
  readonly force?: boolean;
}

function describe(v: ModelVersion): string {
  const aliases = v.aliases.length ? ` @${v.aliases.join(' @')}` : '';
  return `${v.name}:v${v.version}${aliases} (${formatBytes(v.size)}, sha256 ${v.sha256.slice(0, 12)})`;
}

function urlOf(s: Service): string {
  const p = s.ports[0];
  return p ? `http://${p.hostIp === '0.0.0.0' ? '127.0.0.1' : p.hostIp}:${p.hostPort}` : '';
}

function showVersion(v: ModelVersionDetails): string {
  const lines = [
    describe(v),
    `file:        ${v.fileName} (from ${v.sourcePath})`,
    `loaded as:   ${v.entryPoint ? `entry point ${v.entryPoint}` : 'a pickled estimator'}`,
    `registered:  ${v.createdAt} by ${v.operator}`,
  ];
  if (v.description) {
    lines.push(`description: ${v.description}`);
  }
  if (v.tags.length) {
    lines.push(`tags:        ${v.tags.join(', ')}`);
  }
  const l = v.lineage;
  if (l) {
    lines.push(`experiment:  ${l.experimentName ?? '(deleted)'} (${l.experimentId})`);
    const params = Object.entries(l.params);
    if (params.length) {
      lines.push(`  params:    ${params.map(([k, val]) => `${k}=${JSON.stringify(val)}`).join(' ')}`);
    }
    if (l.metrics.length) {
      lines.push(`  metrics:   ${l.metrics.map((m) => `${m.key}=${m.lastRaw}`).join(' ')}`);
    }
    if (l.inputs.length) {
      lines.push(
        `  inputs:    ${l.inputs.map((i) => `${i.dataset}${i.version === null ? '' : `:v${i.version}`}`).join(' ')}`,
      );
    }
  }
  if (v.services.length) {
    lines.push(`services:    ${v.services.map((s) => `${s.name} (${s.status})`).join(', ')}`);
  }
  return lines.join('\n');
}

function listText(models: readonly Model[]): string {
  if (models.length === 0) {
    return 'No models in this project yet: register one with "mllab model register PATH --name N", or exp.log_model(path, name) in a run.';
  }
  return table(
    ['NAME', 'VERSION', 'ALIASES', 'SIZE', 'EXPERIMENT', 'CREATED'],
    models.flatMap((m) =>
      m.versions.map((v) => [
        m.name,
        `v${v.version}`,
        v.aliases.join(','),
        formatBytes(v.size),
        v.experimentId ?? '',
        v.createdAt,
      ]),
    ),
  );
}

/** Polls until the service is healthy or unhealthy (or exited), at most `ms`. */
async function waitHealthy(
  client: ApiClient,
  name: string,
  project: string | undefined,
  ms = 120_000,
): Promise<Service> {
  const end = Date.now() + ms;
  for (;;) {
    const s = await client.getService(name, project);
    if (s.status !== 'starting' || Date.now() > end) {
      return s;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function modelCommand(client: ApiClient, out: Output, args: string[], flags: ModelFlags): Promise<number> {
  const [sub, ...rest] = args;
  const need = (n: number) => expectArgs(`model ${sub}`, rest, n, MODEL_USAGE);
  const p = flags.project;
  switch (sub) {
    case 'register': {
      need(1);
      if (!flags.name) {
        throw new Error(`"mllab model register" needs --name. Usage:\n${MODEL_USAGE}`);
      }
      // an artifact path of an experiment is relative to its run directory; anything else to the cwd
      const file =
        flags.experiment && !path.isAbsolute(rest[0]) && !fs.existsSync(rest[0]) ? rest[0] : path.resolve(rest[0]);
      const version = await client.registerModel({
        name: flags.name,
        path: file,
        experimentId: flags.experiment,
        entryPoint: flags.entryPoint,
        description: flags.description,
        tags: flags.tag,
        project: p,
      });
      out.result(version, () => `Registered ${describe(version)}.`);
      return 0;
    }
    case 'list': {
      need(0);
      const models = await client.listModels(p);
      out.result(models, () => listText(models));
      return 0;
    }
    case 'show': {
      need(1);
      const ref = parseModelRef(rest[0]);
      const version = await client.getModelVersion(ref.name, ref.version, p);
      out.result(version, () => showVersion(version));
      return 0;
    }
    case 'alias': {
      need(2);
      const ref = parseModelRef(rest[0]);
      if (typeof ref.version !== 'number') {
        throw new Error(`Name the version the alias points to, e.g. "mllab model alias ${ref.name}:v2 ${rest[1]}".`);
      }
      const model = await client.setModelAlias(ref.name, rest[1], ref.version, p);
      out.result(model, () => `${model.name}@${rest[1].toLowerCase()} -> v${ref.version}`);
      return 0;
    }
    case 'deploy': {
      need(1);
      const baseImage = flags.baseImage ?? process.env[BASE_IMAGE_ENV];
      if (!baseImage) {
        throw new Error(
          `Choose the image the model server is built from with --base-image IMG (or $${BASE_IMAGE_ENV}): a local image with python3, and scikit-learn for pickled estimators.`,
        );
      }
      const port = flags.port === undefined ? undefined : Number(flags.port);
      if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
        throw new Error(`--port must be a number from 1 to 65535, not "${flags.port}".`);
      }
      const ref = parseModelRef(rest[0]);
      let service = await client.deployModel(
        ref.name,
        { version: ref.version, baseImage, port, serviceName: flags.name, entryPoint: flags.entryPoint },
        p,
      );
      if (flags.wait) {
        service = await waitHealthy(client, service.name, p);
      }
      const url = urlOf(service);
      out.result({ url, service }, () =>
        [url, `service "${service.name}": ${service.status}${service.reason ? ` (${service.reason})` : ''}`].join('\n'),
      );
      return flags.wait && service.status !== 'healthy' ? 1 : 0;
    }
    case 'rm': {
      need(1);
      const ref = parseModelRef(rest[0]);
      if (typeof ref.version !== 'number') {
        throw new Error(`Name the version to delete, e.g. "${ref.name}:v1".`);
      }
      const version = await client.getModelVersion(ref.name, ref.version, p);
      if (!flags.yes && !process.stdin.isTTY) {
        throw new Error(`Deleting ${describe(version)} needs confirmation: add --yes.`);
      }
      if (!flags.yes && !(await confirm(`Delete ${describe(version)}?`))) {
        out.result({ deleted: false }, () => 'Nothing deleted.');
        return 1;
      }
      await client.deleteModelVersion(ref.name, ref.version, p, flags.force);
      out.result({ deleted: true, version }, () => `Deleted ${describe(version)}.`);
      return 0;
    }
    default:
      throw new Error(`Unknown command "mllab model ${sub ?? ''}". Usage:\n${MODEL_USAGE}`);
  }
}
