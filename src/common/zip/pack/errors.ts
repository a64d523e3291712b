import { lstatSync, readlinkSync } from 'fs';
import * as path from 'path';

/** The error a cancelled packaging rejects with (name 'AbortError', as fetch and streams use). */
export function abortError(): Error {
  const error = new Error('Packaging was cancelled.');
  error.name = 'AbortError';
  return error;
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw abortError();
  }
}

/**
 * What the folder holds that cannot be packaged (a name, a dangling link, a named pipe...): the
 * message names the file and says what to do. `reason` is the code for the API's error answer.
 */
export class PackagingRefusal extends Error {
  constructor(
    message: string,
    readonly reason: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'PackagingRefusal';
  }
}

/**
 * A symbolic link whose target does not exist, and that target (the last link of a chain of them
 * that is missing).
 */
function danglingLink(link: string): PackagingRefusal {
  let current = link;
  let target: string | undefined;
  let missing: string | undefined;
  for (let hop = 0; hop < 40 && missing === undefined; hop++) {
    let text: string;
    try {
      text = readlinkSync(current);
    } catch {
      break;
    }
    target ??= text;
    const next = path.resolve(path.dirname(current), text);
    try {
      if (!lstatSync(next).isSymbolicLink()) {
        break;
      }
      current = next;
    } catch {
      missing = next;
    }
  }
  let what = '';
  if (target !== undefined) {
    const direct = missing === undefined || missing === path.resolve(path.dirname(link), target);
    what = direct
      ? `: it points to ${target}, which does not exist`
      : `: it points to ${target}, a link that leads to ${missing}, which does not exist`;
  }
  return new PackagingRefusal(
    `${link} is a dangling link${what}. Remove the link, or put back what it points to, then try again.`,
    'dangling_link',
    link,
  );
}

/** An error for a file or folder that cannot be read, saying which one and what to do about it. */
export function unreadable(file: string, cause: unknown, isLink = false): Error {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const where = path.resolve(file);
  let error: PackagingRefusal;
  if (code === 'ENOENT' && isLink) {
    error = danglingLink(where);
  } else if (code === 'ENOENT') {
    error = new PackagingRefusal(
      `${where} disappeared while it was being packaged. Make sure nothing changes the folder, then try again.`,
      'folder_changed',
      where,
    );
  } else if (code === 'EACCES' || code === 'EPERM') {
    error = new PackagingRefusal(
      `Cannot read ${where}: permission denied. Make it readable (for example with chmod) or move it out of the folder, then try again.`,
      'unreadable',
      where,
    );
  } else if (code === 'ELOOP') {
    error = new PackagingRefusal(
      `${where} is a symbolic link that points to itself in a loop. Remove the link or move it out of the folder, then try again.`,
      'link_loop',
      where,
    );
  } else {
    const reason = cause instanceof Error ? cause.message : String(cause);
    // not a refusal: a failing disk or a full one (ENOSPC) is the lab's problem, not the folder's
    return Object.assign(
      new Error(`Cannot read ${where} (${reason}). Check the file or move it out of the folder, then try again.`),
      { code, path: where, cause },
    );
  }
  return Object.assign(error, { code, cause });
}
