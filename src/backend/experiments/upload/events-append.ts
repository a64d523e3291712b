import * as fs from 'fs';
import * as path from 'path';
import { RUN_FILE_MODE } from '../../../common/run-directory/files';
import type { EventsAnswer } from '../../../protocol/routes/run-upload';
import { ApiError } from '../../errors';
import type { OpenAppends } from './open-appends';

const OPEN_FLAGS = fs.constants.O_RDWR | fs.constants.O_APPEND | fs.constants.O_CREAT | (fs.constants.O_NOFOLLOW ?? 0);

/** An append refused because the sender's offset does not fit what is stored: 409 with the size. */
export interface Refused extends EventsAnswer {
  readonly error: { readonly code: string; readonly message: string };
}

/** Refuses events that do not end with a newline (400): only whole lines are stored. */
export function checkWholeLines(lines: Buffer): void {
  if (lines.length > 0 && lines[lines.length - 1] !== 0x0a) {
    throw new ApiError(
      400,
      'partial_line',
      'The events do not end with a newline: send whole lines of events.jsonl only (keep an unfinished line for later).',
    );
  }
}

/** The answer to bytes sent for an offset past what the lab holds (`size`) of `name`: where to go on from. */
export function offsetAhead(size: number, offset: number, name = 'events.jsonl'): Refused {
  const what = name === 'events.jsonl' ? 'events' : name;
  return {
    size,
    error: {
      code: 'offset_ahead',
      message: `The lab holds ${size} bytes of this run's ${what}, not ${offset}: send the ${what} again from byte ${size}.`,
    },
  };
}

async function readAt(handle: fs.promises.FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await handle.read(buffer, got, length - got, position + got);
    if (bytesRead === 0) {
      break;
    }
    got += bytesRead;
  }
  return buffer.subarray(0, got);
}

async function openAppended(runDir: string, name: string): Promise<fs.promises.FileHandle> {
  try {
    return await fs.promises.open(path.join(runDir, name), OPEN_FLAGS, RUN_FILE_MODE);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'EMLINK') {
      throw new ApiError(409, 'not_a_file', `${name} of this run is a symbolic link in the lab: it is not written.`);
    }
    throw e;
  }
}

/**
 * Stores the events `lines` (whole lines) sent for byte `offset` of the run's events.jsonl (see
 * appendAt).
 */
export function appendEvents(
  runDir: string,
  offset: number,
  lines: Buffer,
  appends?: OpenAppends,
): Promise<EventsAnswer | Refused> {
  checkWholeLines(lines);
  return appendAt(runDir, 'events.jsonl', offset, lines, appends);
}

/**
 * Stores `bytes` sent for byte `offset` of the run's append-only file `name` (events.jsonl, an
 * output log), so that a retry never stores a byte twice: the bytes the file already holds at that
 * offset are compared, not written again; only what goes beyond its end is appended, and synced
 * before the answer. An offset past the end, or bytes that differ from those stored, are refused
 * with the size the lab holds, from where the sender goes on. A failed write is cut back: nothing is
 * half-written. With `appends`, the file stays open for the sender's next request.
 */
export async function appendAt(
  runDir: string,
  name: string,
  offset: number,
  bytes: Buffer,
  appends?: OpenAppends,
): Promise<EventsAnswer | Refused> {
  const file = path.join(runDir, name);
  const opened = appends
    ? await appends.get(file, () => openAppended(runDir, name))
    : await openAppended(runDir, name).then(async (handle) => ({ handle, size: (await handle.stat()).size }));
  const { handle, size } = opened;
  let failed = false;
  try {
    if (!(appends?.holds(file, handle) ?? (await handle.stat()).isFile())) {
      throw new ApiError(409, 'not_a_file', `${name} of this run is not a regular file in the lab.`);
    }
    if (offset > size) {
      return offsetAhead(size, offset, name);
    }
    const overlap = Math.min(size - offset, bytes.length);
    if (overlap > 0) {
      const stored = await readAt(handle, offset, overlap);
      if (!stored.equals(bytes.subarray(0, overlap))) {
        return {
          size,
          error: {
            code: 'events_differ',
            message: `The bytes of ${name} sent for ${offset} to ${offset + overlap} differ from those the lab holds there: another copy of run ${path.basename(runDir)} was sent; record it as a new run.`,
          },
        };
      }
    }
    const tail = bytes.subarray(overlap);
    if (tail.length === 0) {
      return { size };
    }
    try {
      let written = 0;
      while (written < tail.length) {
        written += (await handle.write(tail, written, tail.length - written)).bytesWritten;
      }
      await handle.datasync(); // the size is synced with the data; times need not be
    } catch (e) {
      failed = true;
      await handle.truncate(size).catch(() => undefined);
      throw e;
    }
    return { size: size + tail.length };
  } finally {
    if (failed && appends) {
      await appends.close(file); // opened afresh next time
    } else if (!appends?.holds(file, handle)) {
      await handle.close();
    }
  }
}
