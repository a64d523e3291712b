/** The playground's page, built once: services, input (dataset rows or a JSON body), route, answers. */
import { INPUT_FORMATS } from '../../src/protocol/webviews/prediction-playground';
import { el } from '../common/dom';
import { label, numberInput, options, vbutton } from './elements';
import { save, state, vscode } from './state';

const root = document.getElementById('root')!;

const header = el('header');
header.append(el('h1', undefined, 'Prediction Playground'));
const intro = el(
  'p',
  'note',
  'Choose one model service, or two to compare them on the same input (A/B). Requests go to 127.0.0.1 from the editor.',
);
header.append(intro);

const servicesBox = el('fieldset');
servicesBox.append(el('legend', undefined, 'Services'));
export const targetList = el('div', 'targets');
targetList.setAttribute('role', 'group');
targetList.setAttribute('aria-label', 'Model services');
export const targetsNote = el('p', 'note');
const refresh = vbutton('Refresh', () => vscode.postMessage({ type: 'refresh' }));
refresh.title = 'Reload the deployed model services and datasets';
servicesBox.append(targetList, targetsNote, refresh);

const inputBox = el('fieldset');
inputBox.append(el('legend', undefined, 'Input'));
const datasetRow = el('div', 'row');
export const datasetSelect = document.createElement('vscode-single-select');
datasetSelect.setAttribute('aria-label', 'CSV dataset');
datasetSelect.id = 'dataset';
const rowsChanged = () => {
  state.from = Number(fromInput.value);
  state.to = Number(toInput.value);
  save();
};
export const fromInput = numberInput('from', 'First row', state.from, rowsChanged);
export const toInput = numberInput('to', 'Last row', state.to, rowsChanged);
export const columnsSelect = document.createElement('vscode-multi-select');
columnsSelect.setAttribute('aria-label', 'Columns to send');
columnsSelect.id = 'columns';
export const formatSelect = document.createElement('vscode-single-select');
formatSelect.setAttribute('aria-label', 'Input format');
formatSelect.id = 'format';
options(
  formatSelect,
  INPUT_FORMATS.map((f) => ({ value: f, label: f })),
  [state.format],
);
export const useRows = vbutton('Use Rows');
useRows.title = 'Put the chosen rows and columns of the dataset into the body';
useRows.id = 'use-rows';
datasetRow.append(
  label('Dataset', datasetSelect),
  datasetSelect,
  label('Rows', fromInput),
  fromInput,
  el('span', undefined, '–'),
  toInput,
  label('Format', formatSelect),
  formatSelect,
);
const columnsRow = el('div', 'row');
columnsRow.append(label('Columns', columnsSelect), columnsSelect, useRows);
export const payloadNote = el('p', 'note');
payloadNote.setAttribute('role', 'status');

export const bodyArea = el('textarea');
bodyArea.id = 'body';
bodyArea.spellcheck = false;
bodyArea.value = state.body;
bodyArea.setAttribute('aria-label', 'Request body (JSON); Ctrl+Enter sends');
bodyArea.placeholder = '{"inputs": [[5.1, 3.5, 1.4, 0.2]]}';

const sendRow = el('div', 'row');
export const routeSelect = document.createElement('vscode-single-select');
routeSelect.setAttribute('aria-label', 'Route');
routeSelect.id = 'route';
options(
  routeSelect,
  [
    { value: '/predict', label: 'POST /predict' },
    { value: '/invocations', label: 'POST /invocations (MLflow)' },
  ],
  [state.route],
);
export const sendButton = vbutton('Send', undefined, true);
sendButton.id = 'send';
export const exampleButton = vbutton('Insert Example');
exampleButton.id = 'example';
exampleButton.title = "An example body from the chosen service's GET /info";
export const sendNote = el('span', 'note');
sendNote.setAttribute('role', 'status');
sendRow.append(routeSelect, sendButton, exampleButton, sendNote);
inputBox.append(datasetRow, columnsRow, payloadNote, bodyArea, sendRow);

const resultsBox = el('section');
resultsBox.setAttribute('aria-label', 'Answers');
export const resultsTitle = el('h2', undefined, 'Answers');
export const results = el('div', 'results');
resultsBox.append(resultsTitle, results);

root.replaceChildren(header, servicesBox, inputBox, resultsBox);
