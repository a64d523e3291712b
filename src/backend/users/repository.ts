import { createHash, randomBytes, timingSafeEqual } from 'crypto';
import type { CreatedToken, CreateTokenRequest, Role, TokenInfo, User } from '../../protocol/users';
import { OWNER, ROLES } from '../../protocol/users';
import { ApiError } from '../errors';
import type { EventBus } from '../events';
import type { Row, Store } from '../store/database';
import { MemberRepository } from './members';

/** What a bearer token of a user says, once checked. */
export type TokenCheck =
  | { readonly kind: 'user'; readonly user: string; readonly role: Role }
  | { readonly kind: 'refused'; readonly message: string };

/** The prefix of a user's token: `mllab_<id>_<secret>` (the lab owner's token has none). */
export const TOKEN_PREFIX = 'mllab_';
const TOKEN_FORMAT = /^mllab_([0-9a-f]{16})_([0-9a-f]{64})$/;

function sha256(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

interface CachedToken {
  readonly info: TokenInfo;
  readonly hash: Buffer;
}

function toUser(row: Row): User {
  return { name: String(row.name), role: String(row.role) as Role, createdAt: String(row.created_at) };
}

function toToken(row: Row): TokenInfo {
  return {
    id: String(row.id),
    user: String(row.user),
    label: String(row.label),
    createdAt: String(row.created_at),
    expiresAt: row.expires_at === null ? null : String(row.expires_at),
    revokedAt: row.revoked_at === null ? null : String(row.revoked_at),
    scope: row.scope === null || row.scope === undefined ? null : (String(row.scope) as Role),
  };
}

const ASK_ADMIN = 'ask an admin of the lab for a new one ("mllab token create")';

/**
 * The users of a lab and their tokens. Only a token's SHA-256 is stored; its secret is shown once, when
 * it is created. Users and tokens are also kept in memory (read at start, updated with each write), so
 * checking a request's token never queries the store.
 */
export class UserRepository {
  private readonly users = new Map<string, User>();
  private readonly tokens = new Map<string, CachedToken>();
  /** the members of each project: a user removed from the lab leaves every project too */
  readonly members: MemberRepository;

  constructor(
    private readonly store: Store,
    private readonly now: () => Date = () => new Date(),
    /** where a change of a project's members is published (as a projectUpdated of the project) */
    events?: EventBus,
  ) {
    this.members = new MemberRepository(store, now, events);
    this.reload();
  }

  private reload(): void {
    this.users.clear();
    this.tokens.clear();
    for (const row of this.store.all('SELECT * FROM users')) {
      const user = toUser(row);
      this.users.set(user.name.toLowerCase(), user);
    }
    for (const row of this.store.all('SELECT * FROM tokens')) {
      this.tokens.set(String(row.id), { info: toToken(row), hash: Buffer.from(String(row.hash), 'hex') });
    }
  }

  list(): User[] {
    return [...this.users.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): User {
    const user = this.users.get(name.toLowerCase());
    if (!user) {
      throw new ApiError(404, 'not_found', `No user "${name}" in this lab: "mllab user list" shows them.`);
    }
    return user;
  }

  async add(name: string, role: Role = 'member'): Promise<User> {
    if (name.toLowerCase() === OWNER) {
      throw new ApiError(400, 'invalid_name', `"${OWNER}" names the lab's owner in the audit log: pick another name.`);
    }
    if (this.users.has(name.toLowerCase())) {
      throw new ApiError(409, 'name_taken', `A user "${name}" already exists: pick another name.`);
    }
    const user: User = { name, role, createdAt: this.now().toISOString() };
    await this.store.write((tx) =>
      tx.run('INSERT INTO users (name, role, created_at) VALUES (?, ?, ?)', [name, role, user.createdAt]),
    );
    this.users.set(name.toLowerCase(), user);
    return user;
  }

  /**
   * Changes a user's role in the lab. Their tokens follow at once (a scoped token stays at most its
   * scope); a lab viewer's project memberships count as a viewer's. A lab that has admin users keeps
   * at least one: the last one cannot be made a member or viewer (its owner's token is no user's).
   */
  async setRole(name: string, role: Role): Promise<User> {
    const user = this.get(name);
    if (user.role === role) {
      return user;
    }
    this.assertNotLastAdmin(user, 'change their role');
    await this.store.write((tx) => tx.run('UPDATE users SET role = ? WHERE name = ?', [role, user.name]));
    const changed: User = { ...user, role };
    this.users.set(user.name.toLowerCase(), changed);
    return changed;
  }

  /** Removes a user; their tokens are revoked (and kept, for the record) and they leave every project. */
  async remove(name: string): Promise<void> {
    const user = this.get(name);
    this.assertNotLastAdmin(user, 'remove them');
    const at = this.now().toISOString();
    try {
      await this.store.write((tx) => {
        tx.run('DELETE FROM users WHERE name = ?', [user.name]);
        tx.run('UPDATE tokens SET revoked_at = ? WHERE user = ? AND revoked_at IS NULL', [at, user.name]);
        this.members.removeUser(tx, user.name);
      });
    } finally {
      this.reload();
      this.members.refresh();
    }
  }

  private assertNotLastAdmin(user: User, what: string): void {
    const admins = [...this.users.values()].filter((u) => u.role === 'admin');
    if (user.role === 'admin' && admins.length === 1) {
      throw new ApiError(
        409,
        'last_admin',
        `"${user.name}" is the last admin of the lab: make another user an admin first ("mllab user role NAME admin"), then ${what}.`,
      );
    }
  }

  listTokens(): TokenInfo[] {
    return [...this.tokens.values()]
      .map((t) => t.info)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  async createToken(request: CreateTokenRequest): Promise<CreatedToken> {
    const user = this.get(request.user);
    if (request.scope !== undefined && ROLES.indexOf(request.scope) > ROLES.indexOf(user.role)) {
      throw new ApiError(
        400,
        'scope_above_role',
        `"${user.name}" is a ${user.role} of the lab: their token's --scope can be at most ${user.role}.`,
      );
    }
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('hex');
    const now = this.now();
    const info: TokenInfo = {
      id,
      user: user.name,
      label: request.label ?? '',
      createdAt: now.toISOString(),
      expiresAt:
        request.expiresInSeconds === undefined
          ? null
          : new Date(now.getTime() + request.expiresInSeconds * 1000).toISOString(),
      revokedAt: null,
      scope: request.scope ?? null,
    };
    const hash = sha256(secret);
    await this.store.write((tx) =>
      tx.run(
        'INSERT INTO tokens (id, user, hash, label, created_at, expires_at, revoked_at, scope) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)',
        [id, info.user, hash.toString('hex'), info.label, info.createdAt, info.expiresAt, info.scope],
      ),
    );
    this.tokens.set(id, { info, hash });
    return { ...info, token: `${TOKEN_PREFIX}${id}_${secret}` };
  }

  async revokeToken(id: string): Promise<TokenInfo> {
    const token = this.tokens.get(id);
    if (!token) {
      throw new ApiError(404, 'not_found', `No token "${id}" in this lab: "mllab token list" shows them.`);
    }
    if (token.info.revokedAt !== null) {
      return token.info;
    }
    const info = { ...token.info, revokedAt: this.now().toISOString() };
    await this.store.write((tx) => tx.run('UPDATE tokens SET revoked_at = ? WHERE id = ?', [info.revokedAt, id]));
    this.tokens.set(id, { info, hash: token.hash });
    return info;
  }

  /** Checks a user's bearer token (`mllab_<id>_<secret>`) against the hashes in memory, in constant time. */
  check(presented: string): TokenCheck {
    const match = TOKEN_FORMAT.exec(presented);
    const token = match ? this.tokens.get(match[1]) : undefined;
    if (!match || !token || !timingSafeEqual(sha256(match[2]), token.hash)) {
      return { kind: 'refused', message: `This token is not known to the lab: ${ASK_ADMIN}.` };
    }
    const { info } = token;
    if (info.revokedAt !== null) {
      return { kind: 'refused', message: `Token ${info.id} was revoked at ${info.revokedAt}: ${ASK_ADMIN}.` };
    }
    if (info.expiresAt !== null && Date.parse(info.expiresAt) <= this.now().getTime()) {
      return { kind: 'refused', message: `Token ${info.id} expired at ${info.expiresAt}: ${ASK_ADMIN}.` };
    }
    const user = this.users.get(info.user.toLowerCase());
    if (!user) {
      return { kind: 'refused', message: `The user of token ${info.id} was removed: ${ASK_ADMIN}.` };
    }
    // a scoped token does at most its scope, and never more than its user (whose role may have dropped)
    const role = info.scope !== null && ROLES.indexOf(info.scope) < ROLES.indexOf(user.role) ? info.scope : user.role;
    return { kind: 'user', user: user.name, role };
  }
}
