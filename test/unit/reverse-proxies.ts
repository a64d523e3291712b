import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { raw } from './helpers';

/**
 * Real reverse proxies in front of a lab, as docs/SERVING.md sets them up: TLS ends at the proxy, which
 * forwards plain HTTP to the lab on 127.0.0.1. Each runs unprivileged from a folder of its own, on a
 * free port of 127.0.0.1, with a certificate made by openssl.
 */
export interface ProxySetup {
  readonly name: 'nginx' | 'caddy';
  /** the program, found on PATH (installed by scripts/ensure-system-deps.sh) */
  readonly program: string;
  /** the configuration file's text for a proxy on `port` in front of the lab on `labPort` */
  config(dir: string, port: number, labPort: number, tls: { cert: string; key: string }): string;
  args(dir: string, configFile: string): string[];
}

/** The nginx of docs/SERVING.md: streamed bodies both ways, long reads for the event stream. */
export const NGINX: ProxySetup = {
  name: 'nginx',
  program: 'nginx',
  config: (dir, port, labPort, tls) => `
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
worker_processes 1;
${process.getuid?.() === 0 ? 'user root;' : ''}
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${tls.cert};
    ssl_certificate_key ${tls.key};
    client_max_body_size 0;
    location / {
      proxy_pass http://127.0.0.1:${labPort};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_request_buffering off;
      proxy_buffering off;
      proxy_read_timeout 1h;
      proxy_send_timeout 1h;
    }
  }
}
`,
  args: (dir, configFile) => ['-p', dir, '-c', configFile, '-g', 'daemon off;'],
};

/** The Caddy of docs/SERVING.md: a Caddyfile with the lab's certificate, no admin endpoint. */
export const CADDY: ProxySetup = {
  name: 'caddy',
  program: 'caddy',
  config: (dir, port, labPort, tls) => `{
  admin off
  auto_https off
  grace_period 2s
  storage file_system ${dir}/data
}
https://127.0.0.1:${port} {
  tls ${tls.cert} ${tls.key}
  reverse_proxy 127.0.0.1:${labPort} {
    flush_interval -1
  }
}
`,
  args: (_dir, configFile) => ['run', '--config', configFile, '--adapter', 'caddyfile'],
};

/**
 * Where the proxy's program is: on PATH, or in the system folders Debian installs servers into
 * (nginx is /usr/sbin/nginx, which is not on a user's PATH), or undefined.
 */
function programPath(setup: ProxySetup): string | undefined {
  const folders = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/sbin'];
  return folders
    .filter((f) => f !== '')
    .map((f) => path.join(f, setup.program))
    .find((p) => {
      try {
        fs.accessSync(p, fs.constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
}

/** Why a proxy cannot run here (not installed), or undefined. */
export function proxyMissing(setup: ProxySetup): string | undefined {
  return programPath(setup) === undefined
    ? `${setup.program} is not installed (scripts/ensure-system-deps.sh installs it)`
    : undefined;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A proxy running in front of a lab; `stop` ends it and removes its folder. */
export interface RunningProxy {
  readonly port: number;
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts `setup` in front of the plain lab on `labPort`, answering over TLS with `tls`; ready once it answers. */
export async function startProxy(
  setup: ProxySetup,
  labPort: number,
  tls: { cert: string; key: string; ca: Buffer },
): Promise<RunningProxy> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mllab-test-${setup.name}-`));
  const port = await freePort();
  const configFile = path.join(dir, setup.name === 'nginx' ? 'nginx.conf' : 'Caddyfile');
  fs.writeFileSync(configFile, setup.config(dir, port, labPort, tls));
  // Caddy keeps its state under HOME and XDG folders: this folder, not the user's
  const env = { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir };
  const program = programPath(setup) ?? setup.program;
  const child: ChildProcess = spawn(program, setup.args(dir, configFile), { cwd: dir, env, stdio: 'pipe' });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  const stop = async () => {
    if (!gone) {
      child.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  // ready when a request through it reaches the lab (any answer of the lab's, even a 401)
  for (;;) {
    if (gone) {
      await stop();
      throw new Error(`${setup.name} exited before it answered: ${output.trim().slice(-2000)}`);
    }
    try {
      const res = await raw(port, 'GET', '/api/status', { token: null, ca: tls.ca });
      if (res.status === 401) {
        break;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { port, url: `https://127.0.0.1:${port}`, stop };
}
