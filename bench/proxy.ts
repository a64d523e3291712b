// A lab behind a reverse proxy (docs/SERVING.md): what TLS ending at nginx or Caddy, with the lab on
// 127.0.0.1 behind it, costs a dataset's upload and download against the same curl commands straight
// to the lab's own TLS. Run: node out/bench/run.js proxy
import { spawn } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { TEST_TOKEN } from '../test/unit/helpers';
import { CADDY, NGINX, proxyMissing, startProxy, type ProxySetup } from '../test/unit/reverse-proxies';
import { ServedLab } from '../test/unit/served-lab';
import { makeCertificate } from '../test/unit/certificate';
import { report } from './stats';

const SIZE = 256 * 1024 * 1024;
const RUNS = 3;

/** One way to reach a lab: its URL and the CA that signed what answers there. */
interface Route {
  readonly name: string;
  readonly url: string;
  readonly caFile: string;
}

/**
 * `curl` with the owner's token against `route`; the time it took (ms). Not spawnSync: the labs run in
 * this process and answer only while its event loop runs.
 */
function curl(route: Route, args: string[]): Promise<number> {
  const t0 = performance.now();
  const child = spawn(
    'curl',
    ['-sS', '--fail', '--cacert', route.caFile, '-H', `Authorization: Bearer ${TEST_TOKEN}`, ...args],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(performance.now() - t0) : reject(new Error(`curl ${args.join(' ')} failed: ${stderr}`)),
    );
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Sends `file` as a new dataset of `lab` through `route` and fetches it back: the two times (ms). */
async function roundTrip(lab: ServedLab, route: Route, file: string, sha256: string, name: string) {
  const sent = await curl(route, [
    '-T',
    file,
    '-H',
    'Content-Type: application/octet-stream',
    `${route.url}/api/blobs/${sha256}?offset=0&size=${SIZE}`,
  ]);
  const project = (await lab.request('GET', '/api/active-project')).json() as { projectId: string };
  const added = await lab.request('POST', '/api/datasets/uploaded', undefined, {
    body: { name, sha256, size: SIZE, fileName: 'data.bin', kind: 'file', project: project.projectId },
  });
  if (added.status !== 201) {
    throw new Error(`the dataset was not made: ${added.text}`);
  }
  const out = path.join(lab.root, `${name}.out`);
  const fetched = await curl(route, ['-o', out, `${route.url}/api/datasets/${name}/versions/1/content`]);
  if (fs.statSync(out).size !== SIZE) {
    throw new Error(`fetched ${fs.statSync(out).size} bytes, not ${SIZE}`);
  }
  fs.rmSync(out);
  return { sent, fetched };
}

async function withProject(lab: ServedLab): Promise<void> {
  const created = await lab.request('POST', '/api/projects', undefined, { body: { name: 'bench' } });
  const id = (created.json() as { id: string }).id;
  await lab.request('PUT', '/api/active-project', undefined, { body: { projectId: id } });
}

export async function proxyBench(): Promise<void> {
  const setups = [NGINX, CADDY].filter((s) => {
    const missing = proxyMissing(s);
    if (missing) {
      process.stdout.write(`proxy: ${s.name} skipped: ${missing}\n`);
    }
    return !missing;
  });
  const direct = await ServedLab.start();
  const behind: { setup: ProxySetup; lab: ServedLab; stop: () => Promise<void>; route: Route }[] = [];
  try {
    await withProject(direct);
    for (const setup of setups) {
      const lab = await ServedLab.start({ plain: true, trustProxy: '127.0.0.1' });
      await withProject(lab);
      const tls = makeCertificate(lab.root, setup.name);
      const proxy = await startProxy(setup, lab.port, { ...tls, ca: fs.readFileSync(tls.cert) });
      behind.push({
        setup,
        lab,
        stop: () => proxy.stop(),
        route: { name: setup.name, url: proxy.url, caFile: tls.cert },
      });
    }
    const straight: Route = { name: 'direct', url: direct.url, caFile: direct.caFile };
    const times = new Map<string, { sent: number[]; fetched: number[] }>();
    for (let run = 0; run < RUNS; run++) {
      const data = randomBytes(SIZE);
      const sha256 = createHash('sha256').update(data).digest('hex');
      const file = path.join(direct.root, 'data.bin');
      fs.writeFileSync(file, data);
      // interleaved, so that the machine's moods fall on every side alike
      for (const [lab, route] of [[direct, straight] as const, ...behind.map((b) => [b.lab, b.route] as const)]) {
        const t = await roundTrip(lab, route, file, sha256, `run${run}`);
        const kept = times.get(route.name) ?? { sent: [], fetched: [] };
        kept.sent.push(t.sent);
        kept.fetched.push(t.fetched);
        times.set(route.name, kept);
      }
      fs.rmSync(file);
    }
    const base = times.get('direct')!;
    for (const { setup } of behind) {
      const t = times.get(setup.name)!;
      const mib = SIZE / 1024 / 1024;
      report(
        `proxy: ${mib} MiB sent by curl -T through ${setup.name} (TLS there, plain HTTP to the lab), median of ${RUNS}`,
        median(t.sent),
        median(base.sent),
        'ms',
        "the same curl straight to the lab's own TLS",
      );
      report(
        `proxy: ${mib} MiB fetched by curl -o through ${setup.name}, median of ${RUNS}`,
        median(t.fetched),
        median(base.fetched),
        'ms',
        "the same curl straight to the lab's own TLS",
      );
    }
  } finally {
    for (const b of behind) {
      await b.stop();
      await b.lab.stop();
    }
    await direct.stop();
  }
}
