import * as fs from 'fs';
import * as path from 'path';
import type { LogTail, PackagesList } from './content';

/** Lines of a log shown in the panel; the whole file is one button away. */
export const LOG_TAIL_LINES = 200;
/** Bytes read from the end of a log: enough for 200 ordinary lines, bounded for a log of gigabytes. */
const TAIL_BYTES = 64 * 1024;
const MAX_LINE_CHARS = 2000;
const MAX_PACKAGES_BYTES = 256 * 1024;
const MAX_PACKAGES = 2000;
// colours and cursor moves of terminal output (progress bars, coloured loggers)
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;

/** What a terminal would show of one line: no escape codes, only the text after the last carriage return. */
function visible(line: string): string {
  const text = line.replace(ANSI, '');
  const cr = text.lastIndexOf('\r', text.length - 2);
  const shown = (cr >= 0 ? text.slice(cr + 1) : text).replace(/\r$/, '');
  return shown.length > MAX_LINE_CHARS ? shown.slice(0, MAX_LINE_CHARS) + '…' : shown;
}

async function readEnd(file: string, max: number): Promise<{ text: string; size: number; whole: boolean }> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, max);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return { text: buffer.toString('utf8'), size, whole: length === size };
  } finally {
    await handle.close();
  }
}

/** The last lines of `<dir>/<name>` (a missing file is reported, not thrown). */
export async function readLogTail(dir: string, name: string, lines = LOG_TAIL_LINES): Promise<LogTail> {
  try {
    const { text, size, whole } = await readEnd(path.join(dir, name), TAIL_BYTES);
    const all = text.split('\n');
    if (!whole) {
      all.shift(); // the first line was cut by the start of the read
    }
    if (all.length > 0 && all[all.length - 1] === '') {
      all.pop(); // the file ends with a newline
    }
    return {
      name,
      exists: true,
      lines: all.slice(-lines).map(visible),
      totalLines: whole ? all.length : undefined,
      bytes: size,
    };
  } catch {
    return { name, exists: false, lines: [], bytes: 0 };
  }
}

/** The run's installed-packages list (`name==version` per line), if it has one. */
export async function readPackages(dir: string, relative: string | null): Promise<PackagesList | undefined> {
  if (!relative) {
    return undefined;
  }
  try {
    const handle = await fs.promises.open(path.join(dir, relative), 'r');
    try {
      const buffer = Buffer.alloc(MAX_PACKAGES_BYTES);
      const { bytesRead } = await handle.read(buffer, 0, MAX_PACKAGES_BYTES, 0);
      const { size } = await handle.stat();
      let lines = buffer.toString('utf8', 0, bytesRead).split('\n');
      if (bytesRead < size) {
        lines.pop(); // cut by the end of the read
      }
      lines = lines.map((l) => l.trim()).filter((l) => l.length > 0);
      return { lines: lines.slice(0, MAX_PACKAGES), truncated: bytesRead < size || lines.length > MAX_PACKAGES };
    } finally {
      await handle.close();
    }
  } catch {
    return undefined;
  }
}
