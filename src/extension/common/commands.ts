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
  addDatasetFile: 'mllab.dataset.addFile',
  addDatasetFolder: 'mllab.dataset.addFolder',
  addDatasetFromExplorer: 'mllab.dataset.addFromExplorer',
  previewDataset: 'mllab.dataset.preview',
  showDatasetDetails: 'mllab.dataset.showDetails',
  revealDataset: 'mllab.dataset.revealInOS',
  exportDataset: 'mllab.dataset.export',
  copyDatasetCode: 'mllab.dataset.copyLoadCode',
  copyDatasetPath: 'mllab.dataset.copyPath',
  deleteDatasetVersion: 'mllab.dataset.deleteVersion',
  refreshDatasets: 'mllab.dataset.refresh',
  runExperiment: 'mllab.experiment.run',
  showExperiment: 'mllab.experiment.show',
  openExperimentLog: 'mllab.experiment.openLog',
  deleteExperiment: 'mllab.experiment.delete',
  refreshExperiments: 'mllab.experiment.refresh',
  compareExperimentScript: 'mllab.experiment.compareScript',
  rerunExperiment: 'mllab.experiment.rerun',
  rerunExperimentWithParams: 'mllab.experiment.rerunWithParams',
  stopExperiment: 'mllab.experiment.stop',
  groupExperiments: 'mllab.experiment.toggleGrouping',
} as const;

export type CommandId = (typeof Commands)[keyof typeof Commands];

/** Context keys that drive `when` clauses of views, welcome content and menus. */
export const ContextKeys = {
  backendState: 'mllab.backendState',
  hasHome: 'mllab.hasHome',
  hasProjects: 'mllab.hasProjects',
  hasActiveProject: 'mllab.hasActiveProject',
  hasDatasets: 'mllab.hasDatasets',
  hasExperiments: 'mllab.hasExperiments',
} as const;
