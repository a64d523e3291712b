/** Remembered (sender, content) pairs: the oldest are forgotten first. */
const REMEMBERED = 10_000;

/**
 * Who sent which content to the lab, in this process's life: a sender may learn that the lab holds
 * content it sent (and make a version of it), even when the content was held already for a project
 * it cannot read. Kept in memory only: content no record refers to is removed when the lab starts,
 * and content that is referred to can be sent again (the lab takes the bytes and stores them once).
 */
export class BlobGrants {
  private readonly pairs = new Set<string>();

  add(sender: string, sha256: string): void {
    const key = `${sender}\0${sha256}`;
    this.pairs.delete(key);
    this.pairs.add(key);
    if (this.pairs.size > REMEMBERED) {
      this.pairs.delete(this.pairs.values().next().value as string);
    }
  }

  has(sender: string, sha256: string): boolean {
    return this.pairs.has(`${sender}\0${sha256}`);
  }
}
