/**
 * What makes a service or a job risky for the machine it runs on. Such settings are allowed (a local
 * lab runs on its owner's own machine), but every client shows them as warnings: the backend puts
 * them on each Service and Job it answers, computed here and nowhere else.
 *
 * On a lab served to a team, a member's request for host folders or ports on all interfaces is
 * refused (src/backend/http/machine-access.ts): only an admin of the lab reaches into its machine. (Privileged containers are not among them:
 * ML Lab has no way to start one. A `privileged` setting, if ever added, belongs here.)
 */
import type { JobSpec, PortMapping, Service, ServiceSpec, VolumeMapping } from './containers';

/** Host addresses that publish a port on every interface of the machine. */
const ALL_INTERFACES = new Set(['', '0.0.0.0', '::', '[::]']);

/** The Docker Engine's socket: whoever can talk to it is root on the machine. */
const DOCKER_SOCKETS = new Set(['/var/run/docker.sock', '/run/docker.sock', '//./pipe/docker_engine']);

/** "/var/run//docker.sock/" -> "/var/run/docker.sock"; "/" stays "/". */
function normalizeHostPath(p: string): string {
  const squeezed = p.replace(/\\/g, '/').replace(/(?!^)\/+/g, '/');
  return squeezed.length > 1 ? squeezed.replace(/\/+$/, '') || '/' : squeezed;
}

export function portWarnings(ports: readonly PortMapping[]): string[] {
  return ports
    .filter((p) => ALL_INTERFACES.has(p.hostIp))
    .map(
      (p) =>
        `port ${p.hostPort} is published on all interfaces (${p.hostIp || '0.0.0.0'}): anyone who can reach this machine can connect to it`,
    );
}

export function mountWarnings(mounts: readonly VolumeMapping[]): string[] {
  const warnings: string[] = [];
  for (const m of mounts) {
    const host = normalizeHostPath(m.hostPath);
    if (host === '/' || /^[A-Za-z]:\/?$/.test(host)) {
      warnings.push(
        `mounts the host's root folder (${m.hostPath}) at ${m.containerPath}${m.readOnly ? ', read-only' : ''}: the container can ${m.readOnly ? 'read' : 'read and change'} every file of this machine`,
      );
    } else if (DOCKER_SOCKETS.has(host)) {
      warnings.push(
        `mounts the Docker socket (${m.hostPath}): the container controls Docker, which is as much as root on this machine`,
      );
    }
  }
  return warnings;
}

/** A job's risky settings: no CPU or memory limit, the host's root folder as its workspace. */
export function jobWarnings(spec: JobSpec, workspace: string | null): string[] {
  const unlimited = [spec.cpus === null ? 'CPU' : undefined, spec.memoryBytes === null ? 'memory' : undefined].filter(
    (w): w is string => w !== undefined,
  );
  return [
    ...(unlimited.length > 0
      ? [`no ${unlimited.join(' or ')} limit: a run can take all of this machine's ${unlimited.join(' and ')}`]
      : []),
    ...(workspace === null
      ? []
      : mountWarnings([{ hostPath: workspace, containerPath: '/workspace', readOnly: true }])),
  ];
}

/** A service's risky settings: ports on all interfaces, the host's root folder or the Docker socket mounted. */
export function serviceWarnings(spec: ServiceSpec): string[] {
  return [...portWarnings(spec.ports), ...mountWarnings(spec.volumes)];
}

/** "restarting (3 times)", "exited (1)", "running (restarted 2 times)", "healthy". */
export function serviceStatusText(s: Pick<Service, 'status' | 'exitCode' | 'restartCount'>): string {
  const times = (n: number) => `${n} time${n === 1 ? '' : 's'}`;
  if (s.status === 'restarting') {
    return `restarting (${times(s.restartCount)})`;
  }
  if (s.status === 'exited' && s.exitCode !== null) {
    return `exited (${s.exitCode})`;
  }
  return s.restartCount > 0 && s.status !== 'stopped' ? `${s.status} (restarted ${times(s.restartCount)})` : s.status;
}

/** The warnings of some services or jobs as lines for a terminal ("" when there are none). */
export function warningLines(
  items: readonly { readonly name: string; readonly warnings: readonly string[] }[],
): string {
  return items
    .flatMap((i) => i.warnings.map((w) => `Warning: ${i.name}: ${w}`))
    .map((l) => `\n${l}`)
    .join('');
}
