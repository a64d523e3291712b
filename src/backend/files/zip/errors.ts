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

/** An error for a file or folder that cannot be read, saying which one and what to do about it. */
export function unreadable(file: string, cause: unknown, isLink = false): Error {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const where = path.resolve(file);
  let message: string;
  if (code === 'ENOENT' && isLink) {
    message = `${where} is a symbolic link to something that does not exist. Remove the link or move it out of the folder, then try again.`;
  } else if (code === 'ENOENT') {
    message = `${where} disappeared while it was being packaged. Make sure nothing changes the folder, then try again.`;
  } else if (code === 'EACCES' || code === 'EPERM') {
    message = `Cannot read ${where}: permission denied. Make it readable (for example with chmod) or move it out of the folder, then try again.`;
  } else if (code === 'ELOOP') {
    message = `${where} is a symbolic link that points to itself in a loop. Remove the link or move it out of the folder, then try again.`;
  } else {
    const reason = cause instanceof Error ? cause.message : String(cause);
    message = `Cannot read ${where} (${reason}). Check the file or move it out of the folder, then try again.`;
  }
  return Object.assign(new Error(message), { code, path: where, cause });
}
