import type { Project } from '../../protocol/api';
import type { ProjectMember, ProjectRole, Role } from '../../protocol/users';
import { ApiError } from '../errors';
import type { EventBus } from '../events';
import type { Row, Store, WriteTx } from '../store/database';

function toMember(row: Row): ProjectMember {
  return { user: String(row.user), role: String(row.role) as ProjectRole, addedAt: String(row.added_at) };
}

/**
 * The members of each project and their roles, kept in memory too (read at start, updated with each
 * write), so that the check of a request or of an event never queries the store. It is one of the
 * kinds a project owns: deleting a project deletes its members in the same transaction.
 */
export class MemberRepository {
  /** project id -> lower-cased user name -> member */
  private readonly byProject = new Map<string, Map<string, ProjectMember>>();

  constructor(
    private readonly store: Store,
    private readonly now: () => Date = () => new Date(),
    private readonly events?: EventBus,
  ) {
    this.reload();
  }

  private reload(): void {
    this.byProject.clear();
    for (const row of this.store.all('SELECT * FROM project_members')) {
      this.remember(String(row.project_id), toMember(row));
    }
  }

  private remember(projectId: string, member: ProjectMember): void {
    let members = this.byProject.get(projectId);
    if (!members) {
      members = new Map();
      this.byProject.set(projectId, members);
    }
    members.set(member.user.toLowerCase(), member);
  }

  /** The user's own role in the project (not counting the lab role), or undefined when not a member. */
  roleOf(projectId: string, user: string): ProjectRole | undefined {
    return this.byProject.get(projectId)?.get(user.toLowerCase())?.role;
  }

  list(projectId: string): ProjectMember[] {
    return [...(this.byProject.get(projectId)?.values() ?? [])].sort((a, b) => a.user.localeCompare(b.user));
  }

  /**
   * Adds a user to a project or changes their role. `labRole` is the user's role in the lab: a lab
   * viewer can at most be a project viewer.
   */
  async set(
    project: Project,
    user: { readonly name: string; readonly role: Role },
    role: ProjectRole,
  ): Promise<ProjectMember> {
    if (user.role === 'viewer' && role !== 'viewer') {
      throw new ApiError(
        400,
        'lab_viewer',
        `"${user.name}" is a viewer of the lab, so at most a viewer of project '${project.name}': add them with --role viewer, or ask an admin of the lab to make them a member first.`,
      );
    }
    const current = this.byProject.get(project.id)?.get(user.name.toLowerCase());
    if (current?.role === 'owner' && role !== 'owner') {
      this.assertNotLastOwner(project, current.user, 'change the role of');
    }
    const member: ProjectMember = {
      user: current?.user ?? user.name,
      role,
      addedAt: current?.addedAt ?? this.now().toISOString(),
    };
    await this.store.write((tx) =>
      tx.run(
        `INSERT INTO project_members (project_id, user, role, added_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(project_id, user) DO UPDATE SET role = excluded.role`,
        [project.id, member.user, role, member.addedAt],
      ),
    );
    this.remember(project.id, member);
    // who may see the project changed: the views of its (new) readers reload it
    this.events?.publish({ type: 'projectUpdated', project });
    return member;
  }

  async remove(project: Project, user: string): Promise<void> {
    const member = this.byProject.get(project.id)?.get(user.toLowerCase());
    if (!member) {
      throw new ApiError(
        404,
        'not_a_member',
        `"${user}" is not a member of project '${project.name}': "mllab project members ${project.name}" lists them.`,
      );
    }
    if (member.role === 'owner') {
      this.assertNotLastOwner(project, member.user, 'remove');
    }
    await this.store.write((tx) =>
      tx.run('DELETE FROM project_members WHERE project_id = ? AND user = ?', [project.id, member.user]),
    );
    this.byProject.get(project.id)?.delete(member.user.toLowerCase());
    this.events?.publish({ type: 'projectUpdated', project });
  }

  private assertNotLastOwner(
    project: { readonly id: string; readonly name: string },
    user: string,
    what: string,
  ): void {
    const owners = this.list(project.id).filter((m) => m.role === 'owner');
    if (owners.length === 1 && owners[0].user.toLowerCase() === user.toLowerCase()) {
      throw new ApiError(
        409,
        'last_owner',
        `"${owners[0].user}" is the last owner of project '${project.name}': add another owner first ("mllab project member add ${project.name} USER --role owner"), then ${what} them.`,
      );
    }
  }

  /** Inside the transaction that removes a user from the lab: their memberships go too. */
  removeUser(tx: WriteTx, user: string): void {
    tx.run('DELETE FROM project_members WHERE user = ?', [user]);
  }

  /** Re-reads the members once a write made outside this class (a user removed) committed or failed. */
  refresh(): void {
    this.reload();
  }

  /** Members are not counted among what deleting a project removes. */
  counts(): Record<string, number> {
    return {};
  }

  deleteAll(tx: WriteTx, projectId: string): () => void {
    tx.run('DELETE FROM project_members WHERE project_id = ?', [projectId]);
    return () => this.byProject.delete(projectId);
  }
}
