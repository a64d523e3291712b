import { createHash } from 'crypto';
import * as fs from 'fs';
import { writeFileAtomic } from '../../common/fsync';
import type { JournalPosition } from './journal';

/** What the store had acknowledged: the generation in use and how far its journal had reached. */
export interface AckState extends JournalPosition {
  readonly generation: number;
  readonly snapshotSha256: string | null;
}

export const ACK_FILE = 'acknowledged';

/** Fixed size, so each update overwrites the whole record in place with one small write. */
const SIZE = 256;

function encode(state: AckState): Buffer {
  const json = JSON.stringify(state);
  const line = `${createHash('sha256').update(json).digest('hex').slice(0, 16)} ${json}`;
  if (line.length >= SIZE) {
    throw new Error('acknowledged position too long');
  }
  return Buffer.from(line.padEnd(SIZE - 1) + '\n');
}

/**
 * The ack marker: one small file that says how far the newest journal had been acknowledged. A
 * journal that was cut or deleted can only be told apart from a crash that lost nothing by knowing
 * what had been acknowledged, and the journal itself cannot say so once it is gone.
 *
 * It is updated after each fdatasync of the journal and before the writes are acknowledged, without
 * an fsync of its own: after a kill of the process it is exact, after a power loss it may be older
 * than the journal (which only makes the check weaker, never wrong), because it is never written
 * before the journal data it describes is on disk. Checkpoints fsync it, so its generation is exact.
 */
export class AckMarker {
  private fd: number;

  private constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'r+');
  }

  /** The recorded state; undefined when the file does not exist; a message when it is damaged. */
  static read(file: string): AckState | undefined | string {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        return undefined;
      }
      return `is unreadable (${(e as Error).message})`;
    }
    const line = text.trimEnd();
    const json = line.slice(17);
    if (line.slice(0, 16) !== createHash('sha256').update(json).digest('hex').slice(0, 16)) {
      return text.length === 0 ? 'is empty' : 'is damaged';
    }
    const s = JSON.parse(json) as AckState;
    if (typeof s.generation !== 'number' || typeof s.records !== 'number' || typeof s.bytes !== 'number') {
      return 'is damaged';
    }
    return s;
  }

  /** Writes the marker durably (replacing any older one) and keeps it open for updates. */
  /**
   * Records `state` durably in the existing marker, rewritten in place (so a start on a full disk
   * needs no new block), or in a new one when there is none of the right size.
   */
  static openOrCreate(file: string, state: AckState): AckMarker {
    let marker: AckMarker | undefined;
    try {
      if (fs.statSync(file).size === SIZE) {
        marker = new AckMarker(file);
        marker.writeDurably(state);
        return marker;
      }
    } catch {
      marker?.close();
    }
    return AckMarker.create(file, state);
  }

  static create(file: string, state: AckState): AckMarker {
    writeFileAtomic(file, encode(state));
    return new AckMarker(file);
  }

  /**
   * Records `state`. A failure is ignored: the journal is already on disk, and an older marker only
   * weakens the check at the next start.
   */
  write(state: AckState): void {
    if (this.fd < 0) {
      return;
    }
    try {
      fs.writeSync(this.fd, encode(state), 0, SIZE, 0);
    } catch {
      // see above
    }
  }

  /** Records `state` durably (at a checkpoint: the generation in use must never be older on disk). */
  writeDurably(state: AckState): void {
    fs.writeSync(this.fd, encode(state), 0, SIZE, 0);
    fs.fdatasyncSync(this.fd);
  }

  close(): void {
    if (this.fd >= 0) {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }
}
