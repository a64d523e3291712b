import type { ApiClient } from '../client/api-client';
import type { ProjectRole } from '../protocol/users';
import { PROJECT_ROLES } from '../protocol/users';
import { expectArgs, Output, table } from './output';
import { MEMBER_USAGE } from './usage';

/**
 * `mllab project members PROJECT`, `mllab project member add PROJECT USER --role ROLE` and
 * `mllab project member remove PROJECT USER`: who may read, change or manage a project of a lab
 * served to a team.
 */
export async function memberCommand(
  client: ApiClient,
  out: Output,
  args: string[],
  flags: { role?: string },
): Promise<number> {
  const [sub, action, ...rest] = args;
  if (sub === 'members') {
    const projectArgs = action === undefined ? [] : [action, ...rest];
    expectArgs('project members', projectArgs, 1, MEMBER_USAGE);
    const members = await client.listMembers(projectArgs[0]);
    out.result(members, () =>
      members.length === 0
        ? `Project "${projectArgs[0]}" has no members: only the lab's admins see it. Add one with "mllab project member add ${projectArgs[0]} USER --role owner".`
        : table(
            ['USER', 'ROLE', 'ADDED'],
            members.map((m) => [m.user, m.role, m.addedAt]),
          ),
    );
    return 0;
  }
  switch (action) {
    case 'add': {
      expectArgs('project member add', rest, 2, MEMBER_USAGE);
      if (flags.role === undefined || !PROJECT_ROLES.includes(flags.role as ProjectRole)) {
        throw new Error(
          `"mllab project member add" needs --role ${[...PROJECT_ROLES].reverse().join('|')}${flags.role === undefined ? '' : `, not "${flags.role}"`}. Usage:\n${MEMBER_USAGE}`,
        );
      }
      const member = await client.setMember(rest[0], rest[1], flags.role as ProjectRole);
      out.result(member, () => `"${member.user}" is now ${member.role} of project "${rest[0]}".`);
      return 0;
    }
    case 'remove': {
      expectArgs('project member remove', rest, 2, MEMBER_USAGE);
      await client.removeMember(rest[0], rest[1]);
      out.result({ removed: rest[1], project: rest[0] }, () => `Removed "${rest[1]}" from project "${rest[0]}".`);
      return 0;
    }
    default:
      throw new Error(`Unknown command "mllab project member ${action ?? ''}". Usage:\n${MEMBER_USAGE}`);
  }
}
