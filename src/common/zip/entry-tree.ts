import { collisionKey, type EntryPath } from './entry-paths';
import { UnsafeZipError } from './unsafe-zip-error';

interface Link {
  readonly name: string;
  readonly parts: readonly string[];
  readonly target: string;
}

/**
 * The names a zip has claimed so far, to refuse entries that would overwrite another one, write
 * into a file as if it were a folder, write through a symbolic link, or make a link that leads out.
 */
export class EntryTree {
  /** files and links, by collision key, with the name that claimed them */
  private readonly leaves = new Map<string, string>();
  private readonly folders = new Set<string>();
  private readonly links = new Map<string, Link>();

  constructor(private readonly platform: NodeJS.Platform = process.platform) {}

  private key(parts: readonly string[]): string {
    return collisionKey(parts, this.platform);
  }

  private checkParents(name: string, parts: readonly string[]): void {
    for (let i = 1; i < parts.length; i++) {
      const key = this.key(parts.slice(0, i));
      if (this.links.has(key)) {
        throw new UnsafeZipError(
          `The zip entry "${name}" would be written through the symbolic link "${this.links.get(key)!.name}": refusing to unpack this zip.`,
        );
      }
      if (this.leaves.has(key)) {
        throw new UnsafeZipError(
          `The zip entry "${name}" needs "${this.leaves.get(key)}" to be a folder, but it is a file: refusing to unpack this zip.`,
        );
      }
    }
  }

  private claimFolders(parts: readonly string[], count: number): void {
    for (let i = 1; i <= count; i++) {
      this.folders.add(this.key(parts.slice(0, i)));
    }
  }

  addFolder(name: string, path: EntryPath): void {
    this.checkParents(name, path.parts);
    const key = this.key(path.parts);
    if (this.leaves.has(key)) {
      throw new UnsafeZipError(
        `The zip entry "${name}" is a folder with the same name as the file "${this.leaves.get(key)}": refusing to unpack this zip.`,
      );
    }
    this.claimFolders(path.parts, path.parts.length);
  }

  addFile(name: string, path: EntryPath): void {
    this.checkParents(name, path.parts);
    const key = this.key(path.parts);
    const previous = this.leaves.get(key);
    if (previous !== undefined) {
      throw new UnsafeZipError(
        `The zip entry "${name}" would overwrite the entry "${previous}" unpacked before it: refusing to unpack this zip.`,
      );
    }
    if (this.folders.has(key)) {
      throw new UnsafeZipError(
        `The zip entry "${name}" is a file with the same name as a folder of the zip: refusing to unpack this zip.`,
      );
    }
    this.leaves.set(key, name);
    this.claimFolders(path.parts, path.parts.length - 1);
  }

  /** A symbolic link may point only inside the destination, by a relative path. */
  addLink(name: string, path: EntryPath, target: string): void {
    const refuse = (why: string) =>
      new UnsafeZipError(`The zip entry "${name}" is a symbolic link ${why}: refusing to unpack this zip.`);
    if (target === '' || target.includes('\0')) {
      throw refuse('with an invalid target');
    }
    if (target.includes('\\') || target.startsWith('/') || /^[a-zA-Z]:/.test(target)) {
      throw refuse(`to an absolute or Windows-style path ("${target}")`);
    }
    const depth = resolveInside(path.parts.slice(0, -1), target);
    if (depth === undefined) {
      throw refuse(`that leads outside the destination folder ("${target}")`);
    }
    this.addFile(name, path);
    this.links.set(this.key(path.parts), { name, parts: path.parts, target });
  }

  /**
   * Once every link is known: a link whose target goes through another link is refused, because
   * where it leads then depends on that link, not on its text (`a -> x/..` with `x -> ../..`).
   */
  checkLinks(): Array<{ parts: readonly string[]; target: string }> {
    for (const link of this.links.values()) {
      const resolved = [...link.parts.slice(0, -1)];
      const steps = link.target.split('/').filter((p) => p !== '' && p !== '.');
      steps.forEach((step, i) => {
        if (step === '..') {
          resolved.pop();
          return;
        }
        resolved.push(step);
        if (i < steps.length - 1 && this.links.has(this.key(resolved))) {
          throw new UnsafeZipError(
            `The zip entry "${link.name}" is a symbolic link through another link ("${link.target}"): refusing to unpack this zip.`,
          );
        }
      });
    }
    return [...this.links.values()];
  }
}

/** Follows `target` from the folder `from` by its text alone; undefined if it goes above the root. */
function resolveInside(from: readonly string[], target: string): number | undefined {
  let depth = from.length;
  for (const step of target.split('/')) {
    if (step === '..') {
      depth--;
      if (depth < 0) {
        return undefined;
      }
    } else if (step !== '' && step !== '.') {
      depth++;
    }
  }
  return depth;
}
