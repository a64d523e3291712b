/** The people of a lab served to a team (`mllab serve --listen`) and their API tokens. */

/** viewer: reads only; member: everything but users and tokens; admin: everything */
export type Role = 'admin' | 'member' | 'viewer';

export const ROLES: readonly Role[] = ['viewer', 'member', 'admin'];

/** A user name: a letter or digit, then letters, digits, ".", "_" or "-" (at most 64 characters). */
export const USER_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
export const USER_NAME_MAX_LENGTH = 64;
export const TOKEN_LABEL_MAX_LENGTH = 200;
/** the longest life a token can be given: ten years */
export const TOKEN_MAX_SECONDS = 10 * 366 * 24 * 3600;

/** The name the audit log gives the lab's owner (the token of the registration file). */
export const OWNER = 'owner';

export interface User {
  readonly name: string;
  readonly role: Role;
  readonly createdAt: string;
}

export interface AddUserRequest {
  readonly name: string;
  /** default: member */
  readonly role?: Role;
}

/** A user's new role in the lab (`mllab user role NAME ROLE`). */
export interface SetUserRoleRequest {
  readonly role: Role;
}

/** A token as listed: never its secret, which only its creator saw once. */
export interface TokenInfo {
  readonly id: string;
  readonly user: string;
  readonly label: string;
  readonly createdAt: string;
  /** null: it never expires */
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
  /** the most this token may do (a member's read-only token: "viewer"); null: its user's role */
  readonly scope: Role | null;
}

export interface CreateTokenRequest {
  readonly user: string;
  readonly label?: string;
  /** absent: it never expires */
  readonly expiresInSeconds?: number;
  /** the most the token may do, at most its user's role; absent: the user's role */
  readonly scope?: Role;
}

/** The answer of creating a token: the only time its secret (`token`) is shown. */
export interface CreatedToken extends TokenInfo {
  /** `mllab_<id>_<secret>`: send it as `Authorization: Bearer <token>` */
  readonly token: string;
}

/**
 * A user's role in one project: viewer reads it, editor also changes its records, owner also renames
 * or deletes it and says who its members are. The lab's admins (and its owner) act as owner of every
 * project; a lab viewer can at most be a project viewer.
 */
export type ProjectRole = 'owner' | 'editor' | 'viewer';

export const PROJECT_ROLES: readonly ProjectRole[] = ['viewer', 'editor', 'owner'];

/** A member of a project. */
export interface ProjectMember {
  readonly user: string;
  readonly role: ProjectRole;
  readonly addedAt: string;
}

export interface SetMemberRequest {
  readonly role: ProjectRole;
}
