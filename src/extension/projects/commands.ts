import * as vscode from 'vscode';
import { describeRecords } from '../../protocol/describe';
import { checkName } from '../../protocol/names';
import type { Project } from '../../protocol/api';
import type { BackendService } from '../backend/backend-service';
import { Commands } from '../common/commands';
import { registerCommand } from '../common/register-command';
import type { Ui } from '../common/ui';
import type { ProjectsModel } from './projects-model';

/**
 * The project commands. Each accepts its arguments programmatically (a tree item, a name) and asks
 * for whatever is missing, so it works from the view, the palette, keybindings and other extensions.
 */
export function registerProjectCommands(
  backend: BackendService,
  model: ProjectsModel,
  ui: Ui,
  selected: () => Project | undefined,
): vscode.Disposable[] {
  const askName = (title: string, value?: string, current?: Project) =>
    ui.input({
      title,
      value,
      prompt: 'Letters, digits, spaces, ".", "-" and "_"; at most 64 characters',
      placeHolder: 'e.g. churn-prediction',
      validateInput: (name) => {
        const problem = checkName('project', name);
        if (problem) {
          return problem;
        }
        const taken = model.projects.some((p) => p.id !== current?.id && p.name.toLowerCase() === name.toLowerCase());
        return taken ? `A project called "${name}" already exists: choose another name.` : undefined;
      },
    });

  const pickProject = async (title: string): Promise<Project | undefined> => {
    await model.refresh();
    const picked = await ui.pick(
      model.projects.map((p) => ({
        label: p.name,
        description: p.id === model.activeProject?.id ? 'active' : '',
        project: p,
      })),
      { title, placeHolder: 'Select a project' },
    );
    return picked?.project;
  };

  const setActive = async (project: Project) => {
    const client = await backend.ready();
    await client.setActiveProject(project.id);
    await model.refresh();
  };

  return [
    registerCommand(Commands.createProject, ui, async (name?: string) => {
      const client = await backend.ready();
      await model.refresh(); // the name check below needs the current list
      name ??= await askName('Create ML Lab Project');
      if (name === undefined) {
        return undefined;
      }
      // the backend makes the first project (none active) the active one
      const project = await client.createProject(name);
      await model.refresh();
      return project;
    }),
    registerCommand(Commands.renameProject, ui, async (project?: Project, newName?: string) => {
      const client = await backend.ready();
      project ??= selected() ?? (await pickProject('Rename Project'));
      if (!project) {
        return undefined;
      }
      newName ??= await askName(`Rename Project "${project.name}"`, project.name, project);
      if (newName === undefined || newName === project.name) {
        return undefined;
      }
      const renamed = await client.updateProject(project.id, { name: newName });
      await model.refresh();
      return renamed;
    }),
    registerCommand(Commands.deleteProject, ui, async (project?: Project) => {
      const client = await backend.ready();
      project ??= selected() ?? (await pickProject('Delete Project'));
      if (!project) {
        return false;
      }
      const contents = await client.projectContents(project.id);
      const active = model.activeProject?.id === project.id;
      const confirmed = await ui.confirm(
        `Delete the project "${project.name}"?`,
        `This removes the project record and everything it owns: ${describeRecords(contents.records)}. ` +
          `${active ? 'It is the active project; no project will be active afterwards. ' : ''}` +
          'Files in your workspace are not touched. This cannot be undone.',
        'Delete Project',
      );
      if (!confirmed) {
        return false;
      }
      await client.deleteProject(project.id);
      await model.refresh();
      return true;
    }),
    registerCommand(Commands.setActiveProject, ui, async (project?: Project) => {
      await backend.ready();
      project ??= selected() ?? (await pickProject('Set Active Project'));
      if (project) {
        await setActive(project);
      }
      return project;
    }),
    registerCommand(Commands.selectProject, ui, async () => {
      const client = await backend.ready(); // throws an actionable message when it cannot connect
      await model.refresh();
      const create = { label: '$(add) Create Project...', project: undefined };
      const picked = await ui.pick(
        [
          ...model.projects.map((p) => ({
            label: p.id === model.activeProject?.id ? `$(pass-filled) ${p.name}` : p.name,
            description: p.description,
            project: p as Project | undefined,
          })),
          create,
        ],
        {
          title: 'ML Lab: Select Active Project',
          placeHolder: 'The active project receives new datasets, experiments and jobs',
        },
      );
      if (picked === create) {
        return vscode.commands.executeCommand(Commands.createProject);
      }
      if (picked?.project) {
        await client.setActiveProject(picked.project.id);
        await model.refresh();
      }
      return picked?.project;
    }),
    registerCommand(Commands.refreshProjects, ui, () => model.refresh()),
  ];
}
