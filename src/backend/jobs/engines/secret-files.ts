import { PassThrough } from 'stream';

/** The part of tar-stream (which ships no types) used here. */
interface TarPack extends NodeJS.ReadableStream {
  entry(
    header: { name: string; type?: 'file' | 'directory'; mode: number; uid: number; gid: number },
    body?: string,
  ): void;
  finalize(): void;
}
const tar = require('tar-stream') as { pack(): TarPack };

/** Where a run on a plain remote engine finds its token and the lab's certificate (as Swarm's /run/secrets). */
export const SECRET_DIR = '/run/mllab';

/**
 * A tar archive (for Docker's PUT /containers/ID/archive at "/", before the container starts) that
 * puts `files` into SECRET_DIR, owned by root and readable by the job's user whoever it is: how a
 * run's token reaches a container on a plain engine without being in its environment (which
 * `docker inspect` shows) or in an image layer (which outlives the run).
 */
export async function secretArchive(files: Readonly<Record<string, string>>): Promise<Buffer> {
  const pack = tar.pack();
  const dir = SECRET_DIR.replace(/^\//, '');
  const owner = { uid: 0, gid: 0 };
  let path = '';
  for (const part of dir.split('/')) {
    path = path ? `${path}/${part}` : part;
    pack.entry({ name: `${path}/`, type: 'directory', mode: 0o755, ...owner });
  }
  for (const [name, content] of Object.entries(files)) {
    pack.entry({ name: `${dir}/${name}`, mode: 0o444, ...owner }, content);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  const sink = new PassThrough();
  sink.on('data', (c: Buffer) => chunks.push(c));
  await new Promise<void>((resolve, reject) => {
    pack.on('error', reject);
    sink.on('end', resolve);
    pack.pipe(sink);
  });
  return Buffer.concat(chunks);
}
