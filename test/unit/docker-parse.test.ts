import * as assert from 'assert';
import { DockerDemux } from '../../src/backend/runtime/demux';
import { dockerOptions } from '../../src/backend/runtime/docker-host';
import { translate } from '../../src/backend/runtime/errors';
import { checkImage, parseEnv, parseMemory, parsePort, parseVolume } from '../../src/backend/runtime/parse';
import { dockerRunCommand } from '../../src/backend/services/docker-run';

/** Fast checks of the pure logic around Docker: no engine needed. */
describe('container runtime: parsing, errors and output framing', () => {
  it('accepts image references Docker accepts and refuses others with an example', () => {
    for (const ok of [
      'busybox',
      'python:3.12-slim',
      'registry.local:5000/team/model:v2',
      'mllab-test/busybox:1',
      `a@sha256:${'0'.repeat(64)}`,
    ]) {
      assert.strictEqual(checkImage(ok), ok);
    }
    for (const bad of ['', 'Upper/Case', 'a b', 'x:', 'x::y', '-lead']) {
      assert.throws(() => checkImage(bad), /not a valid image name: use lower-case names/);
    }
  });

  it('parses env, memory, ports and volumes, with a message per mistake', () => {
    assert.deepStrictEqual(parseEnv(['A=1', 'B=x=y', 'EMPTY=']), { A: '1', B: 'x=y', EMPTY: '' });
    assert.throws(() => parseEnv(['NOEQ']), /lacks "=": write it as KEY=VALUE/);
    assert.throws(() => parseEnv({ 'bad-key': '1' }), /not a valid environment variable name/);
    assert.strictEqual(parseMemory('512m'), 512 * 1024 ** 2);
    assert.strictEqual(parseMemory('1.5GiB'), 1.5 * 1024 ** 3);
    assert.strictEqual(parseMemory(null), null);
    assert.throws(() => parseMemory('1k'), /at least 6m/);
    assert.deepStrictEqual(parsePort('8080:80'), { hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80 });
    assert.deepStrictEqual(parsePort('0.0.0.0:8080:80/tcp'), { hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80 });
    assert.throws(() => parsePort('80'), /HOST:CONTAINER/);
    assert.throws(() => parsePort('0:80'), /host port .* from 1 to 65535/);
    assert.deepStrictEqual(parseVolume('/data:/in:ro'), { hostPath: '/data', containerPath: '/in', readOnly: true });
    assert.throws(() => parseVolume('data:/in'), /must be absolute/);
  });

  it('reads Docker hosts as people write them', () => {
    assert.deepStrictEqual(dockerOptions(undefined), {});
    assert.deepStrictEqual(dockerOptions('unix:///var/run/docker.sock'), { socketPath: '/var/run/docker.sock' });
    assert.deepStrictEqual(dockerOptions('tcp://10.0.0.5:2375'), { host: '10.0.0.5', port: 2375, protocol: 'http' });
    assert.strictEqual(dockerOptions('tcp://10.0.0.5:2376').protocol, 'https');
    const ssh = dockerOptions('ssh://me@build-box');
    assert.deepStrictEqual([ssh.protocol, ssh.host, ssh.port, ssh.username], ['ssh', 'build-box', 22, 'me']);
    assert.throws(() => dockerOptions('ftp://x'), /not understood/);
  });

  it('turns engine errors into sentences a person can act on', () => {
    assert.match(
      translate({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED /var/run/docker.sock' }, 'x').message,
      /Docker is not running.*start it and press Retry/,
    );
    const notFound = translate(
      {
        statusCode: 400,
        json: {
          message:
            'failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "nope": executable file not found in $PATH: unknown',
        },
      },
      'start the container',
    );
    assert.strictEqual(notFound.statusCode, 400);
    assert.match(notFound.message, /The command "nope" does not exist in the image/);
    const port = translate(
      {
        statusCode: 500,
        json: {
          message:
            'driver failed programming external connectivity: Bind for 127.0.0.1:8080 failed: port is already allocated',
        },
      },
      'start the container',
    );
    assert.deepStrictEqual([port.statusCode, port.code], [409, 'port_in_use']);
    assert.match(port.message, /8080 is already in use/);
  });

  it('strips the frame headers of multiplexed output, across chunk boundaries', async () => {
    const frame = (stream: number, text: string) => {
      const payload = Buffer.from(text);
      const header = Buffer.alloc(8);
      header[0] = stream;
      header.writeUInt32BE(payload.length, 4);
      return Buffer.concat([header, payload]);
    };
    const all = Buffer.concat([frame(1, 'out 1\n'), frame(2, 'err\n'), frame(1, 'out 2\n')]);
    const demux = new DockerDemux();
    const parts: Buffer[] = [];
    demux.on('data', (c: Buffer) => parts.push(c));
    for (let i = 0; i < all.length; i += 3) {
      demux.write(all.subarray(i, i + 3));
    }
    demux.end();
    await new Promise((r) => demux.on('end', r));
    assert.strictEqual(Buffer.concat(parts).toString(), 'out 1\nerr\nout 2\n');
  });

  it('writes the docker run command of a service, quoted for a shell', () => {
    const command = dockerRunCommand({
      name: 'my model',
      image: 'model:1',
      command: ['serve', "it's"],
      env: { A: 'x y' },
      ports: [{ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80 }],
      volumes: [{ hostPath: '/m', containerPath: '/models', readOnly: true }],
      restart: 'on-failure',
      healthPath: '/health',
    });
    assert.strictEqual(
      command,
      `docker run -d --name my-model -p 127.0.0.1:8080:80 -e 'A=x y' -v /m:/models:ro --restart on-failure model:1 serve 'it'\\''s'`,
    );
  });
});
