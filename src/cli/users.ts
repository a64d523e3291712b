import type { ApiClient } from '../client/api-client';
import type { Role, TokenInfo } from '../protocol/users';
import { ROLES } from '../protocol/users';
import { expectArgs, Output, table } from './output';
import { USER_USAGE } from './usage';

const UNITS: Record<string, number> = { m: 60, h: 3600, d: 86400, w: 7 * 86400 };

/** `30d`, `12h`, `90m`, `2w` -> seconds */
export function parseExpires(text: string): number {
  const match = /^(\d{1,6})([mhdw])$/.exec(text.trim());
  if (!match || Number(match[1]) === 0) {
    throw new Error(`--expires takes a duration such as 90m, 12h, 30d or 2w, not "${text}".`);
  }
  return Number(match[1]) * UNITS[match[2]];
}

/** `--scope viewer|member|admin`: the most a token may do. */
function parseScope(text: string): Role {
  if (!ROLES.includes(text as Role)) {
    throw new Error(`--scope takes ${ROLES.join(', ')} (the most the token may do), not "${text}".`);
  }
  return text as Role;
}

function state(t: TokenInfo, now: number): string {
  if (t.revokedAt !== null) {
    return `revoked ${t.revokedAt}`;
  }
  if (t.expiresAt !== null && Date.parse(t.expiresAt) <= now) {
    return `expired ${t.expiresAt}`;
  }
  return t.expiresAt === null ? 'valid, never expires' : `valid until ${t.expiresAt}`;
}

/** `mllab user ...` and `mllab token ...`: the people of a lab served to a team and their tokens. */
export async function userCommand(
  client: ApiClient,
  out: Output,
  command: 'user' | 'token',
  args: string[],
  flags: { role?: string; user?: string; expires?: string; label?: string; scope?: string },
): Promise<number> {
  const [sub, ...rest] = args;
  const need = (n: number) => expectArgs(`${command} ${sub}`, rest, n, USER_USAGE);
  switch (`${command} ${sub ?? ''}`) {
    case 'user add': {
      need(1);
      if (flags.role !== undefined && !ROLES.includes(flags.role as Role)) {
        throw new Error(`--role takes ${ROLES.join(', ')}, not "${flags.role}".`);
      }
      const user = await client.addUser(rest[0], flags.role as Role | undefined);
      out.result(
        user,
        () =>
          `Added ${user.role} "${user.name}". Give them a token: mllab token create --user ${user.name} [--expires 30d]`,
      );
      return 0;
    }
    case 'user list': {
      need(0);
      const users = await client.listUsers();
      out.result(users, () =>
        users.length === 0
          ? 'No users yet (the lab owner needs none): add one with "mllab user add NAME --role member".'
          : table(
              ['NAME', 'ROLE', 'CREATED'],
              users.map((u) => [u.name, u.role, u.createdAt]),
            ),
      );
      return 0;
    }
    case 'user role': {
      need(2);
      const [name, role] = rest;
      if (!ROLES.includes(role as Role)) {
        throw new Error(`"mllab user role ${name} ROLE" takes ${ROLES.join(', ')} as ROLE, not "${role}".`);
      }
      const user = await client.setUserRole(name, role as Role);
      out.result(user, () => `"${user.name}" is now a${user.role === 'admin' ? 'n' : ''} ${user.role} of the lab.`);
      return 0;
    }
    case 'user remove': {
      need(1);
      await client.removeUser(rest[0]);
      out.result({ removed: rest[0] }, () => `Removed user "${rest[0]}" and revoked their tokens.`);
      return 0;
    }
    case 'token create': {
      need(0);
      if (!flags.user) {
        throw new Error(`"mllab token create" needs --user NAME. Usage:\n${USER_USAGE}`);
      }
      const created = await client.createToken({
        user: flags.user,
        ...(flags.label !== undefined ? { label: flags.label } : {}),
        ...(flags.expires !== undefined ? { expiresInSeconds: parseExpires(flags.expires) } : {}),
        ...(flags.scope !== undefined ? { scope: parseScope(flags.scope) } : {}),
      });
      out.result(created, () =>
        [
          `Token ${created.id} for "${created.user}" (${created.scope ? `${created.scope} at most, ` : ''}${created.expiresAt ? `expires ${created.expiresAt}` : 'never expires'}):`,
          '',
          `  ${created.token}`,
          '',
          'It is shown only this once: pass it on safely. It goes in "Authorization: Bearer <token>".',
        ].join('\n'),
      );
      return 0;
    }
    case 'token list': {
      need(0);
      const tokens = await client.listTokens();
      const now = Date.now();
      out.result(tokens, () =>
        tokens.length === 0
          ? 'No tokens yet: create one with "mllab token create --user NAME".'
          : table(
              ['ID', 'USER', 'SCOPE', 'LABEL', 'CREATED', 'STATE'],
              tokens.map((t) => [t.id, t.user, t.scope ?? "user's role", t.label, t.createdAt, state(t, now)]),
            ),
      );
      return 0;
    }
    case 'token revoke': {
      need(1);
      const token = await client.revokeToken(rest[0]);
      out.result(token, () => `Revoked token ${token.id} of "${token.user}".`);
      return 0;
    }
    default:
      throw new Error(`Unknown command "mllab ${command} ${sub ?? ''}". Usage:\n${USER_USAGE}`);
  }
}
