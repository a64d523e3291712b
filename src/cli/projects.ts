import type { ApiClient } from '../client/api-client';
import type { Project } from '../protocol/api';
import { describeRecords } from '../protocol/describe';
import { confirm } from './confirm';
import { expectArgs, Output, table } from './output';
import { PROJECT_USAGE } from './usage';

export async function projectCommand(
  client: ApiClient,
  out: Output,
  args: string[],
  flags: { description?: string; yes?: boolean },
): Promise<number> {
  const [sub, ...rest] = args;
  const need = (n: number) => expectArgs(`project ${sub}`, rest, n, PROJECT_USAGE);
  switch (sub) {
    case 'list': {
      need(0);
      const [projects, active] = await Promise.all([client.listProjects(), client.activeProject()]);
      out.result({ projects, activeProjectId: active.projectId }, () =>
        projects.length === 0
          ? 'No projects yet: create one with "mllab project create NAME".'
          : table(
              ['', 'NAME', 'ID', 'CREATED'],
              projects.map((p: Project) => [p.id === active.projectId ? '*' : '', p.name, p.id, p.createdAt]),
            ),
      );
      return 0;
    }
    case 'create': {
      need(1);
      const project = await client.createProject(rest[0], flags.description);
      out.result(project, () => `Created project "${project.name}" (${project.id}).`);
      return 0;
    }
    case 'rename': {
      need(2);
      const project = await client.updateProject(rest[0], { name: rest[1] });
      out.result(project, () => `Renamed the project to "${project.name}".`);
      return 0;
    }
    case 'delete': {
      need(1);
      const contents = await client.projectContents(rest[0]);
      const what = `project "${contents.project.name}" and everything in it (${describeRecords(contents.records)})`;
      if (!flags.yes) {
        if (!process.stdin.isTTY) {
          throw new Error(`Deleting the ${what} needs confirmation: add --yes.`);
        }
        if (!(await confirm(`Delete the ${what}?`))) {
          out.result({ deleted: false }, () => 'Nothing deleted.');
          return 1;
        }
      }
      await client.deleteProject(contents.project.id);
      out.result({ deleted: true, project: contents.project, records: contents.records }, () => `Deleted the ${what}.`);
      return 0;
    }
    case 'use': {
      need(1);
      const project = await client.getProject(rest[0]);
      await client.setActiveProject(project.id);
      out.result({ activeProjectId: project.id, project }, () => `Active project: "${project.name}".`);
      return 0;
    }
    default:
      throw new Error(`Unknown command "mllab project ${sub ?? ''}". Usage:\n${PROJECT_USAGE}`);
  }
}
