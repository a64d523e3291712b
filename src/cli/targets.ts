import type { ApiClient } from '../client/api-client';
import { formatBytes } from './progress';
import { targetRoutes } from '../protocol/routes/targets';
import type { AddTargetRequest, TargetNode, TargetStatus } from '../protocol/targets';
import { expectArgs, Output, table } from './output';
import { TARGET_USAGE } from './usage';

export interface TargetFlags {
  readonly dockerHost?: string;
  readonly tlsCa?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly registry?: string;
  readonly project?: string;
}

/** "NVIDIA-GPU=2" for each generic resource; "-" for none */
const gpusText = (n: TargetNode) =>
  Object.entries(n.gpus)
    .map(([kind, count]) => `${kind}=${count}`)
    .join(',') || '-';

function statusText(s: TargetStatus): string {
  if (!s.available) {
    return `unavailable: ${s.message ?? ''}`;
  }
  const ready = s.nodes.filter((n) => n.state === 'ready').length;
  return s.target.kind === 'swarm' ? `${ready}/${s.nodes.length} nodes ready` : 'ready';
}

function nodesTable(nodes: readonly TargetNode[]): string {
  return table(
    ['NODE', 'ROLE', 'STATE', 'CPUS', 'MEMORY', 'GPUS', 'LABELS', 'RUNNING'],
    nodes.map((n) => [
      n.name,
      n.role,
      n.availability === 'active' ? n.state : `${n.state} (${n.availability})`,
      String(n.cpus),
      formatBytes(n.memoryBytes),
      gpusText(n),
      Object.entries(n.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',') || '-',
      n.workloads.map((w) => `${w.kind} ${w.name}`).join(', ') || '-',
    ]),
  );
}

/** `mllab target add|list|show|rm` and `mllab project target [NAME]`. */
export async function targetCommand(
  client: ApiClient,
  out: Output,
  args: string[],
  flags: TargetFlags,
): Promise<number> {
  const [sub, ...rest] = args;
  const need = (n: number) => expectArgs(`target ${sub}`, rest, n, TARGET_USAGE);
  switch (sub) {
    case 'add': {
      need(1);
      if (!flags.dockerHost) {
        throw new Error(
          `"mllab target add" needs --docker-host URL (tcp://HOST:2376 or ssh://USER@HOST). Usage:\n${TARGET_USAGE}`,
        );
      }
      const tls = { caFile: flags.tlsCa, certFile: flags.tlsCert, keyFile: flags.tlsKey };
      const body: AddTargetRequest = {
        name: rest[0],
        dockerHost: flags.dockerHost,
        ...(tls.caFile || tls.certFile || tls.keyFile ? { tls } : {}),
        ...(flags.registry ? { registry: flags.registry } : {}),
      };
      const status = await client.call(targetRoutes.add, { body });
      out.result(
        status,
        () =>
          `Added the ${status.target.kind === 'swarm' ? 'Swarm cluster' : 'Docker Engine'} "${status.target.name}" (${status.target.dockerHost}): ${statusText(status)}.\n${nodesTable(status.nodes)}`,
      );
      return 0;
    }
    case 'list': {
      need(0);
      const list = await client.call(targetRoutes.list, {});
      out.result(list, () =>
        table(
          ['NAME', 'KIND', 'DOCKER HOST', 'REGISTRY', 'NODES', 'STATUS'],
          list.map((s) => [
            s.target.name,
            s.target.kind,
            s.target.dockerHost ?? "(the lab machine's Docker)",
            s.target.registry ?? '-',
            String(s.nodes.length),
            statusText(s),
          ]),
        ),
      );
      return 0;
    }
    case 'show': {
      need(1);
      const status = await client.call(targetRoutes.get, { params: { name: rest[0] } });
      out.result(
        status,
        () =>
          `${status.target.name}: ${status.target.kind} at ${status.target.dockerHost ?? "the lab machine's Docker"}, ${statusText(status)}` +
          (status.nodes.length > 0 ? `\n${nodesTable(status.nodes)}` : ''),
      );
      return 0;
    }
    case 'rm':
    case 'remove': {
      need(1);
      await client.call(targetRoutes.remove, { params: { name: rest[0] } });
      out.result({ removed: rest[0] }, () => `Removed the target "${rest[0]}".`);
      return 0;
    }
    default:
      throw new Error(`Unknown target command "${sub ?? ''}". Usage:\n${TARGET_USAGE}`);
  }
}

/** `mllab project target [NAME] [--project P]`: shows or sets where the project's jobs and services run. */
export async function projectTargetCommand(
  client: ApiClient,
  out: Output,
  args: string[],
  flags: TargetFlags,
): Promise<number> {
  if (args.length > 1) {
    throw new Error(`"mllab project target" takes at most one NAME. Usage:\n${TARGET_USAGE}`);
  }
  const project = flags.project ?? (await client.activeProject()).projectId;
  if (!project) {
    throw new Error('No project is active: pass --project P, or pick one with "mllab project use NAME".');
  }
  const answer =
    args.length === 0
      ? await client.call(targetRoutes.projectTarget, { params: { id: project } })
      : await client.call(targetRoutes.setProjectTarget, { params: { id: project }, body: { target: args[0] } });
  out.result(answer, () =>
    args.length === 0
      ? `The project's jobs and services run on "${answer.target}".`
      : `The project's jobs and services now run on "${answer.target}" unless they name their own target.`,
  );
  return 0;
}

/** The command line's flags as parsed (`--docker-host` ...), for `mllab target` and `mllab project target`. */
export interface TargetArgs {
  readonly 'docker-host'?: string;
  readonly 'tls-ca'?: string;
  readonly 'tls-cert'?: string;
  readonly 'tls-key'?: string;
  readonly registry?: string;
  readonly project?: string;
}

/** `mllab target ...` (`command` is "target") or `mllab project target ...` (`command` is "project"). */
export function targetsCli(
  client: ApiClient,
  out: Output,
  command: string,
  args: string[],
  values: TargetArgs,
): Promise<number> {
  const flags: TargetFlags = {
    dockerHost: values['docker-host'],
    tlsCa: values['tls-ca'],
    tlsCert: values['tls-cert'],
    tlsKey: values['tls-key'],
    registry: values.registry,
    project: values.project,
  };
  return command === 'target'
    ? targetCommand(client, out, args, flags)
    : projectTargetCommand(client, out, args.slice(1), flags);
}
