import * as fs from 'fs';
import { Readable } from 'stream';

const CHUNK = 1 << 20;

/**
 * The contents of a growing log file as a stream: what is there, then what is appended, until
 * `isDone()` says no more will come (checked once the end of the file is reached, so nothing
 * written before that is lost). The file is checked every `intervalMs` while there is nothing new.
 */
export function followFile(file: string, isDone: () => boolean, intervalMs = 100): Readable {
  let offset = 0;
  let fd: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  const stream = new Readable({
    read() {
      const pump = () => {
        timer = undefined;
        try {
          fd ??= fs.openSync(file, 'r');
          // asked before reading, so that output written before the end was recorded is included
          const done = isDone();
          const buf = Buffer.allocUnsafe(CHUNK);
          const n = fs.readSync(fd, buf, 0, CHUNK, offset);
          if (n > 0) {
            offset += n;
            stream.push(buf.subarray(0, n));
          } else if (done) {
            stream.push(null);
          } else {
            timer = setTimeout(pump, intervalMs);
          }
        } catch (e) {
          stream.destroy(e as Error);
        }
      };
      pump();
    },
    destroy(error, callback) {
      clearTimeout(timer);
      if (fd !== undefined) {
        fs.closeSync(fd);
      }
      callback(error);
    },
  });
  return stream;
}
