import type { ApiClient } from '../client/api-client';
import { serviceStatusText, warningLines } from '../protocol/container-warnings';
import { MAX_REPLICAS, type RestartPolicy, type Service } from '../protocol/containers';
import { expectArgs, Output, table } from './output';
import { SERVICE_USAGE } from './usage';

export interface ServiceFlags {
  readonly project?: string;
  readonly image?: string;
  readonly env?: string[];
  readonly port?: string[];
  readonly volume?: string[];
  readonly restart?: string;
  readonly health?: string;
  readonly follow?: boolean;
  readonly target?: string;
  readonly replicas?: string;
}

/** A count of replicas from the command line: a whole number from `min` up. */
function replicaCount(text: string | undefined, min: number): number {
  const n = Number(text);
  if (!/^[0-9]+$/.test(text ?? '') || n < min || n > MAX_REPLICAS) {
    throw new Error(
      `The number of replicas must be a whole number from ${min} to ${MAX_REPLICAS} (got "${text ?? ''}").`,
    );
  }
  return n;
}

/** "2/3 replicas on node1 node2" for a service on a cluster, '' for a local one. */
function replicaText(s: Service): string {
  const r = s.replicaStatus;
  if (!r) {
    return '';
  }
  const nodes = r.replicas.filter((x) => x.state === 'running').map((x) => x.node);
  return `${r.running}/${r.desired} replicas${nodes.length > 0 ? ` on ${nodes.join(', ')}` : ''}`;
}

function describe(s: Service): string {
  const ports = s.ports.map((p) => `http://${p.hostIp}:${p.hostPort}`).join(' ');
  const where = s.target ? `, target ${s.target}: ${replicaText(s)}` : '';
  const endpoint = s.endpointPort !== undefined ? `; served at http://127.0.0.1:${s.endpointPort}` : '';
  return `${s.name}: ${serviceStatusText(s)}${s.reason ? ` (${s.reason})` : ''}${ports ? ` on ${ports}` : ''}${where}${endpoint}`;
}

export async function serviceCommand(
  client: ApiClient,
  out: Output,
  args: string[],
  flags: ServiceFlags,
): Promise<number> {
  const [sub, ...rest] = args;
  const need = (n: number) => expectArgs(`service ${sub}`, rest, n, SERVICE_USAGE);
  const p = flags.project;
  switch (sub) {
    case 'deploy': {
      const [name, ...command] = rest;
      if (!name || !flags.image) {
        throw new Error(`"mllab service deploy" needs a NAME and --image. Usage:\n${SERVICE_USAGE}`);
      }
      const service = await client.deployService(
        {
          name,
          image: flags.image,
          command,
          env: flags.env ?? [],
          ports: flags.port ?? [],
          volumes: flags.volume ?? [],
          restart: (flags.restart ?? 'no') as RestartPolicy,
          healthPath: flags.health ?? null,
          ...(flags.target ? { target: flags.target } : {}),
          ...(flags.replicas !== undefined ? { replicas: replicaCount(flags.replicas, 1) } : {}),
        },
        p,
      );
      out.result(
        service,
        () => `Deployed ${describe(service)}.\nThe same with Docker: ${service.dockerRun}${warningLines([service])}`,
      );
      return 0;
    }
    case 'list': {
      need(0);
      const list = await client.listServices(p);
      out.result(list, () =>
        list.length === 0
          ? 'No services in this project yet: deploy one with "mllab service deploy NAME --image IMG --port 8080:80".'
          : table(
              ['NAME', 'IMAGE', 'STATUS', 'PORTS', 'TARGET', 'REPLICAS'],
              list.map((s) => [
                s.name,
                s.image,
                serviceStatusText(s),
                s.ports.map((x) => `${x.hostIp}:${x.hostPort}->${x.containerPort}`).join(' '),
                s.target ?? 'local',
                replicaText(s) || '1',
              ]),
            ) + warningLines(list),
      );
      return 0;
    }
    case 'logs': {
      need(1);
      for await (const chunk of await client.serviceLogs(rest[0], flags.follow ?? false, p)) {
        process.stdout.write(chunk as Buffer);
      }
      return 0;
    }
    case 'start':
    case 'stop':
    case 'restart': {
      need(1);
      const service = await client.serviceAction(rest[0], sub, p);
      out.result(service, () => describe(service));
      return 0;
    }
    case 'scale': {
      need(2);
      const service = await client.scaleService(rest[0], replicaCount(rest[1], 0), p);
      out.result(service, () => `Scaled ${describe(service)}.`);
      return 0;
    }
    case 'rm': {
      need(1);
      await client.deleteService(rest[0], p);
      out.result({ deleted: true, name: rest[0] }, () => `Removed service ${rest[0]} and its container.`);
      return 0;
    }
    default:
      throw new Error(`Unknown command "mllab service ${sub ?? ''}". Usage:\n${SERVICE_USAGE}`);
  }
}
