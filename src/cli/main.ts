// dist/cli.js: the `mllab` command, a client of the backend's API like the extension.
import * as path from 'path';
import { parseArgs } from 'util';
import type { ApiClient } from '../client/api-client';
import { connect, connectRemote, labTarget, notRemote, type LabTarget } from '../client/connect';
import { resolveHome } from '../common/home';
import { VERSION } from '../common/version';
import { Output } from './output';
import {
  DATASET_USAGE,
  EXP_USAGE,
  JOB_USAGE,
  LOGIN_USAGE,
  MODEL_USAGE,
  PIPELINE_USAGE,
  PROJECT_USAGE,
  MEMBER_USAGE,
  RUN_USAGE,
  SCHEDULE_COMMANDS,
  SCHEDULE_USAGE,
  SERVICE_USAGE,
  SWEEP_USAGE,
  SYNC_USAGE,
  TARGET_USAGE,
  USER_USAGE,
} from './usage';

// Each command's module (and the backend, for `serve`) is imported when that command runs, so a
// quick command such as `mllab status` loads and parses only this dispatcher and the HTTP client.

const USAGE = `ML Lab ${VERSION}: a lab for machine learning projects.

Usage:
  mllab serve [--home DIR] [--port N]   run the backend of a lab home in the foreground
  mllab serve --listen HOST:PORT [--tls-cert FILE --tls-key FILE] [--trust-proxy ADDR,...]
                                         also serve it to a team (TLS required off 127.0.0.1;
                                         --trust-proxy: believe X-Forwarded-For from those proxies)
  mllab status [--json]                  show which lab this talks to (a local home or a URL) and as whom
  mllab stop [--json]                    stop the backend of the lab home
  ${LOGIN_USAGE.split('\n').join('\n  ')}
  ${PROJECT_USAGE.split('\n').join('\n  ')}
  ${MEMBER_USAGE.split('\n').join('\n  ')}
  ${DATASET_USAGE.split('\n').join('\n  ')}
  ${RUN_USAGE}
  ${SYNC_USAGE.split('\n').join('\n  ')}
  ${EXP_USAGE.split('\n').join('\n  ')}
  ${SWEEP_USAGE.split('\n').join('\n  ')}
  ${JOB_USAGE.split('\n').join('\n  ')}
  ${SCHEDULE_USAGE.split('\n').join('\n  ')}
  ${PIPELINE_USAGE.split('\n').join('\n  ')}
  ${SERVICE_USAGE.split('\n').join('\n  ')}
  ${MODEL_USAGE.split('\n').join('\n  ')}
  ${USER_USAGE.split('\n').join('\n  ')}
  ${TARGET_USAGE.split('\n').join('\n  ')}

Every command takes --home DIR and --json. The lab: --home DIR, else $MLLAB_URL with $MLLAB_TOKEN
(and $MLLAB_CA_FILE for a self-signed lab), else $MLLAB_HOME, else the lab of "mllab login", else ./.mllab.`;

/**
 * Runs `fn` with a client of the lab: the home's backend (started, stopping when idle, unless `start`
 * is false) or the lab served by URL.
 */
async function withClient(
  target: LabTarget,
  fn: (client: ApiClient) => Promise<number>,
  start = true,
): Promise<number> {
  const { client } =
    target.kind === 'remote'
      ? await connectRemote(target.lab)
      : await connect({ home: target.home, backendScript: start ? path.join(__dirname, 'backend.js') : undefined });
  try {
    return await fn(client);
  } finally {
    client.dispose();
  }
}

/** The lab home of a local lab; against a lab served by URL, says that `what` needs one. */
function localHome(
  target: LabTarget,
  what: string,
  instead = "run it on the lab's machine, or pass --home DIR to use a local lab.",
): string {
  if (target.kind === 'remote') {
    throw notRemote(what, target.lab, instead);
  }
  return target.home;
}

interface ServeFlags {
  readonly listen?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly trustProxy?: string;
}

async function runServe(home: string, port: number, out: Output, flags: ServeFlags): Promise<number> {
  const { serve } = await import('../backend/main');
  const result = await serve({ home, version: VERSION, port, echoLog: !out.json, ...flags });
  if (result.kind !== 'serving') {
    const r = result.registration;
    const url = `http://127.0.0.1:${r.port}`;
    if (result.kind === 'attached') {
      out.result(
        { attached: true, pid: r.pid, url, home },
        () => `The backend of ${home} already runs as process ${r.pid} on ${url}.`,
      );
      return 0;
    }
    throw new Error(
      `Process ${r.pid} owns ${home} but does not answer on port ${r.port}: stop that process, or remove run/backend.json in the lab home if it is not ML Lab.`,
    );
  }
  const backend = result.backend;
  const url = `http://127.0.0.1:${backend.port}`;
  const team = flags.listen === undefined ? undefined : backend.url;
  out.result(
    { serving: true, pid: process.pid, url, ...(team ? { teamUrl: team } : {}), home },
    () =>
      `ML Lab backend ${VERSION} serves ${home} on ${url}${team ? ` and to the team on ${team}` : ''} (Ctrl+C stops it).`,
  );
  process.on('SIGINT', () => void backend.stop('Ctrl+C'));
  process.on('SIGTERM', () => void backend.stop('SIGTERM'));
  await backend.stopped;
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        home: { type: 'string' },
        // one value for serve, several for service deploy (HOST:CONTAINER)
        port: { type: 'string', multiple: true },
        image: { type: 'string' },
        env: { type: 'string', multiple: true },
        cpus: { type: 'string' },
        gpus: { type: 'string' },
        memory: { type: 'string' },
        timeout: { type: 'string' },
        workdir: { type: 'string' },
        placement: { type: 'string', multiple: true },
        retries: { type: 'string' },
        parallel: { type: 'string' },
        trials: { type: 'string' },
        wait: { type: 'boolean', default: false },
        run: { type: 'string' },
        follow: { type: 'boolean', default: false },
        format: { type: 'string' },
        volume: { type: 'string', multiple: true },
        restart: { type: 'string' },
        health: { type: 'string' },
        replicas: { type: 'string' },
        target: { type: 'string' },
        json: { type: 'boolean', default: false },
        description: { type: 'string' },
        name: { type: 'string' },
        tag: { type: 'string', multiple: true },
        project: { type: 'string' },
        to: { type: 'string' },
        param: { type: 'string', multiple: true },
        'max-points': { type: 'string' },
        from: { type: 'string' },
        yes: { type: 'boolean', short: 'y', default: false },
        force: { type: 'boolean', default: false },
        tz: { type: 'string' },
        overlap: { type: 'string' },
        missed: { type: 'string' },
        enable: { type: 'boolean', default: false },
        disable: { type: 'boolean', default: false },
        upstream: { type: 'string', multiple: true },
        none: { type: 'boolean', default: false },
        experiment: { type: 'string' },
        'entry-point': { type: 'string' },
        'base-image': { type: 'string' },
        listen: { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'trust-proxy': { type: 'string' },
        role: { type: 'string' },
        user: { type: 'string' },
        expires: { type: 'string' },
        label: { type: 'string' },
        scope: { type: 'string' },
        token: { type: 'string' },
        ca: { type: 'string' },
        'docker-host': { type: 'string' },
        'tls-ca': { type: 'string' },
        registry: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', default: false },
      },
    });
  } catch (e) {
    process.stderr.write(`mllab: ${(e as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const out = new Output(values.json ?? false);
  if (values.version) {
    out.result({ version: VERSION }, () => VERSION);
    return 0;
  }
  const [command, ...args] = positionals;
  if (values.help || !command) {
    process.stdout.write(USAGE + '\n');
    return values.help ? 0 : 2;
  }
  const target = () => labTarget({ home: values.home });
  try {
    switch (command) {
      case 'serve': {
        const home = resolveHome(values.home);
        const given = values.port?.at(-1);
        const port = given === undefined ? 0 : Number(given);
        if (!Number.isInteger(port) || port < 0 || port > 65535) {
          throw new Error(`--port must be a number from 0 to 65535, not "${given}".`);
        }
        if (values.listen !== undefined && given !== undefined) {
          throw new Error('--port is the local port; with --listen HOST:PORT, give the port there only.');
        }
        return await runServe(home, port, out, {
          listen: values.listen,
          tlsCert: values['tls-cert'],
          tlsKey: values['tls-key'],
          trustProxy: values['trust-proxy'],
        });
      }
      case 'status':
        return await (await import('./lab')).statusCommand(target(), out);
      case 'login':
        return await (await import('./lab')).loginCommand(out, args, { token: values.token, ca: values.ca });
      case 'logout':
        return (await import('./lab')).logoutCommand(out, args);
      case 'stop': {
        const stopping = target();
        localHome(
          stopping,
          '"mllab stop"',
          'a lab served to a team is stopped on its machine (Ctrl+C or SIGTERM to "mllab serve"); use --home DIR to stop a local lab.',
        );
        return await withClient(
          stopping,
          async (client) => {
            await client.shutdown();
            out.result({ stopping: true }, () => 'The backend is stopping.');
            return 0;
          },
          false,
        );
      }
      case 'dataset': {
        const lab = target();
        // against a lab over the network, add sends the content and get fetches it
        const home = lab.kind === 'local' ? lab.home : '';
        return await withClient(lab, async (client) =>
          (await import('./datasets')).datasetCommand(client, home, out, args, {
            name: values.name,
            description: values.description,
            tag: values.tag,
            project: values.project,
            to: values.to,
            yes: values.yes,
            force: values.force,
          }),
        );
      }
      case 'run':
        // against a lab over the network, the run is recorded in the local journal and sent while it runs
        return await (
          await import('./run')
        ).runCommand(target(), out, args, { name: values.name, param: values.param, project: values.project });
      case 'sync':
        return await (await import('./sync')).syncCommand(target(), out, args, values.timeout);
      case 'sweep':
        return await withClient(target(), async (client) =>
          (await import('./sweeps')).sweepCommand(client, out, args, {
            project: values.project,
            parallel: values.parallel,
            trials: values.trials,
            wait: values.wait,
          }),
        );
      case 'exp':
        return await withClient(target(), async (client) =>
          (await import('./experiments')).expCommand(client, out, args, {
            project: values.project,
            maxPoints: values['max-points'],
            from: values.from,
            to: values.to,
            yes: values.yes,
          }),
        );
      case 'job':
        if (SCHEDULE_COMMANDS.includes(args[0])) {
          return await withClient(target(), async (client) =>
            (await import('./schedules')).scheduleCommand(client, out, args, {
              project: values.project,
              tz: values.tz,
              overlap: values.overlap,
              missed: values.missed,
              enable: values.enable,
              disable: values.disable,
              upstream: values.upstream,
              none: values.none,
            }),
          );
        }
        return await withClient(target(), async (client) =>
          (await import('./jobs')).jobCommand(client, out, args, {
            project: values.project,
            image: values.image,
            env: values.env,
            cpus: values.cpus,
            gpus: values.gpus,
            memory: values.memory,
            timeout: values.timeout,
            workdir: values.workdir,
            target: values.target,
            placement: values.placement,
            retries: values.retries,
            wait: values.wait,
            run: values.run,
            follow: values.follow,
            format: values.format,
            to: values.to,
          }),
        );
      case 'pipeline':
        return await withClient(target(), async (client) =>
          (await import('./pipeline')).pipelineCommand(client, out, args, { project: values.project }),
        );
      case 'service':
        return await withClient(target(), async (client) =>
          (await import('./services')).serviceCommand(client, out, args, {
            project: values.project,
            image: values.image,
            env: values.env,
            port: values.port,
            volume: values.volume,
            restart: values.restart,
            health: values.health,
            follow: values.follow,
            target: values.target,
            replicas: values.replicas,
          }),
        );
      case 'model':
        if (args[0] === 'register') {
          localHome(target(), '"mllab model register PATH"');
        }
        return await withClient(target(), async (client) =>
          (await import('./models')).modelCommand(client, out, args, {
            project: values.project,
            name: values.name,
            experiment: values.experiment,
            entryPoint: values['entry-point'],
            description: values.description,
            tag: values.tag,
            baseImage: values['base-image'],
            port: values.port?.at(-1),
            wait: values.wait,
            yes: values.yes,
            force: values.force,
          }),
        );
      case 'target':
      case 'project':
        if (command === 'target' || args[0] === 'target') {
          return await withClient(target(), async (client) =>
            (await import('./targets')).targetsCli(client, out, command, args, values),
          );
        }
        if (args[0] === 'members' || args[0] === 'member') {
          return await withClient(target(), async (client) =>
            (await import('./members')).memberCommand(client, out, args, { role: values.role }),
          );
        }
        return await withClient(target(), async (client) =>
          (await import('./projects')).projectCommand(client, out, args, {
            description: values.description,
            yes: values.yes,
          }),
        );
      case 'user':
      case 'token':
        return await withClient(target(), async (client) =>
          (await import('./users')).userCommand(client, out, command, args, {
            role: values.role,
            user: values.user,
            expires: values.expires,
            label: values.label,
            scope: values.scope,
          }),
        );
      default:
        throw new Error(`Unknown command "${command}". Run "mllab --help" for the commands.`);
    }
  } catch (e) {
    return out.fail(e);
  }
}
