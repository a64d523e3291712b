import {
  CHUNK_BYTES,
  crcPassTask,
  deflateChunkTask,
  wholeFileTask,
  type ChunkResult,
  type CrcResult,
} from './chunk-tasks';
import { crc32 } from './crc32';
import type { Task } from './ordered-pool';
import { isStoredByName } from './stored-extensions';
import type { SyncGate } from './sync-gate';
import type { SourceEntry } from './walk';

/** How an entry is written, and so which tasks it needs from the pool. */
export type EntryPlan =
  | { readonly kind: 'directory' }
  | { readonly kind: 'empty' }
  /** one task reads the file whole (and deflates it unless stored) */
  | { readonly kind: 'whole'; readonly deflate: boolean }
  /** one task per chunk, deflated in parallel */
  | { readonly kind: 'chunked'; readonly chunks: number }
  /** one task computes the CRC, then the writer copies the file */
  | { readonly kind: 'stored-big' };

export type PoolResult = ChunkResult | CrcResult;

export function planOf(entry: SourceEntry, level: number): EntryPlan {
  if (entry.isDirectory) {
    return { kind: 'directory' };
  }
  if (entry.size === 0) {
    return { kind: 'empty' };
  }
  const deflate = level > 0 && !isStoredByName(entry.path);
  if (entry.size <= CHUNK_BYTES) {
    return { kind: 'whole', deflate };
  }
  return deflate ? { kind: 'chunked', chunks: Math.ceil(entry.size / CHUNK_BYTES) } : { kind: 'stored-big' };
}

/** The tasks of all entries, in the order the writer consumes their results. */
export function* tasksOf(
  entries: readonly SourceEntry[],
  level: number,
  gate: SyncGate,
  probe = true,
): Generator<Task<PoolResult>> {
  for (const entry of entries) {
    const plan = planOf(entry, level);
    if (plan.kind === 'whole') {
      yield wholeFileTask(entry, plan.deflate ? level : undefined, gate, probe);
    } else if (plan.kind === 'chunked') {
      for (let i = 0; i < plan.chunks; i++) {
        yield deflateChunkTask(entry, i, level, probe);
      }
    } else if (plan.kind === 'stored-big') {
      yield crcPassTask(entry, crc32);
    }
  }
}
