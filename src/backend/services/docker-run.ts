import type { ServiceSpec } from '../../protocol/containers';

/** Quotes an argument for a POSIX shell when it needs it. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The `docker run` command line that starts the same container as the service ("Copy docker run command"). */
export function dockerRunCommand(spec: ServiceSpec): string {
  const args = ['docker', 'run', '-d', '--name', spec.name.replace(/[^a-zA-Z0-9_.-]/g, '-')];
  for (const p of spec.ports) {
    args.push('-p', `${p.hostIp}:${p.hostPort}:${p.containerPort}`);
  }
  for (const [k, v] of Object.entries(spec.env)) {
    args.push('-e', `${k}=${v}`);
  }
  for (const v of spec.volumes) {
    args.push('-v', `${v.hostPath}:${v.containerPath}${v.readOnly ? ':ro' : ''}`);
  }
  if (spec.user) {
    args.push('--user', spec.user);
  }
  if (spec.restart !== 'no') {
    args.push('--restart', spec.restart);
  }
  args.push(spec.image, ...spec.command);
  return args.map(shellQuote).join(' ');
}
