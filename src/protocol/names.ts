/** Rules for names a person gives to things (projects now; datasets and models later). */
export const NAME_MAX_LENGTH = 64;

/**
 * Letters, digits, spaces, dots, dashes and underscores; starts with a letter or digit; not ending in
 * a space or dot. Path separators and `..` are excluded so a name can never address a file.
 */
const NAME_PATTERN = /^[\p{L}\p{N}](?:[\p{L}\p{N} ._-]*[\p{L}\p{N}_-])?$/u;

/** Returns a sentence explaining what is wrong with `name`, or undefined when it is valid. */
export function checkName(kind: string, name: string): string | undefined {
  if (name.trim().length === 0) {
    return `The ${kind} name is empty: type a name such as "churn-model".`;
  }
  if (name !== name.trim()) {
    return `The ${kind} name starts or ends with spaces: remove them.`;
  }
  if ([...name].length > NAME_MAX_LENGTH) {
    return `The ${kind} name is ${[...name].length} characters long: use at most ${NAME_MAX_LENGTH}.`;
  }
  if (/[/\\:]/.test(name) || name.includes('..')) {
    return `The ${kind} name "${name}" looks like a path: use a plain name without "/", "\\", ":" or "..".`;
  }
  if (!NAME_PATTERN.test(name)) {
    return `The ${kind} name "${name}" has characters that are not allowed: use letters, digits, spaces, ".", "-" and "_", starting with a letter or digit.`;
  }
  return undefined;
}
