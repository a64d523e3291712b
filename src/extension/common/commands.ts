/** Every command id of ML Lab, in one place (package.json contributes the same ids). */
export const Commands = {
  createProject: 'mllab.project.create',
  renameProject: 'mllab.project.rename',
  deleteProject: 'mllab.project.delete',
  setActiveProject: 'mllab.project.setActive',
  selectProject: 'mllab.project.select',
  refreshProjects: 'mllab.project.refresh',
  showBackendLog: 'mllab.backend.showLog',
  restartBackend: 'mllab.backend.restart',
} as const;

export type CommandId = (typeof Commands)[keyof typeof Commands];

/** Context keys that drive `when` clauses of views, welcome content and menus. */
export const ContextKeys = {
  backendState: 'mllab.backendState',
  hasHome: 'mllab.hasHome',
  hasProjects: 'mllab.hasProjects',
} as const;
