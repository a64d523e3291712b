import * as vscode from 'vscode';
import { MAX_REPLICAS, type Service } from '../../protocol/containers';
import type { BackendService } from '../backend/backend-service';
import { Commands } from '../common/commands';
import { registerCommand } from '../common/register-command';
import type { Ui } from '../common/ui';
import type { LogChannels } from '../docker/log-channels';
import { splitCommandLine } from '../docker/format';
import { serviceUrl } from './service-url';
import type { ServiceNode } from './tree';

export interface ServiceCommandDeps {
  readonly backend: BackendService;
  readonly ui: Ui;
  readonly logs: LogChannels;
  readonly services: () => readonly Service[];
}

const PORT_MAPPING = /^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d{1,5}):(\d{1,5})$/;

export function registerServiceCommands(deps: ServiceCommandDeps): vscode.Disposable[] {
  const { backend, ui, logs } = deps;

  const pick = async (node: ServiceNode | undefined, placeHolder: string): Promise<Service | undefined> => {
    if (node?.kind === 'service') {
      return node.service;
    }
    const services = deps.services();
    if (services.length === 0) {
      throw new Error('This project has no services yet: deploy one with "ML Lab: Deploy Service".');
    }
    const picked = await ui.pick(
      services.map((s) => ({ label: s.name, description: `${s.status} · ${s.image}`, service: s })),
      { placeHolder },
    );
    return picked?.service;
  };

  const action = (id: (typeof Commands)[keyof typeof Commands], verb: 'start' | 'stop' | 'restart') =>
    registerCommand(id, ui, async (node?: ServiceNode) => {
      const s = await pick(node, `Service to ${verb}`);
      return s ? (await backend.ready()).serviceAction(s.name, verb, s.projectId) : undefined;
    });

  return [
    registerCommand(Commands.deployService, ui, async () => {
      const name = await ui.input({
        title: 'Deploy Service (1/4): name',
        validateInput: (v) =>
          /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(v.trim()) ? undefined : 'Use letters, digits, ".", "_" and "-"',
      });
      if (!name) {
        return undefined;
      }
      const image = await ui.input({
        title: 'Deploy Service (2/4): image',
        prompt: 'A local Docker image that serves HTTP',
        validateInput: (v) => (v.trim() ? undefined : 'Name an image'),
      });
      if (!image) {
        return undefined;
      }
      const ports = await ui.input({
        title: 'Deploy Service (3/4): ports',
        prompt: 'HOST:CONTAINER, comma-separated (published on 127.0.0.1); empty = none',
        value: '8080:8080',
        validateInput: (v) =>
          v
            .split(',')
            .map((p) => p.trim())
            .filter((p) => p.length > 0)
            .every((p) => PORT_MAPPING.test(p))
            ? undefined
            : 'Write ports as HOST:CONTAINER, e.g. 8080:80',
      });
      if (ports === undefined) {
        return undefined;
      }
      const health = await ui.input({
        title: 'Deploy Service (4/4): health check path and command',
        prompt:
          'An HTTP path polled to say healthy (e.g. /health); empty = no check. Add " -- CMD ..." to override the command.',
        value: '/',
      });
      if (health === undefined) {
        return undefined;
      }
      const [path, ...rest] = health.split(' -- ');
      const service = await (
        await backend.ready()
      ).deployService({
        name: name.trim(),
        image: image.trim(),
        ports: ports
          .split(',')
          .map((p) => p.trim())
          .filter((p) => p.length > 0),
        healthPath: path.trim() || null,
        command: rest.length > 0 ? splitCommandLine(rest.join(' -- ')) : [],
      });
      void ui.info(`ML Lab: deployed "${service.name}" (${service.status}).`);
      return service;
    }),
    action(Commands.startService, 'start'),
    action(Commands.stopService, 'stop'),
    action(Commands.restartService, 'restart'),
    registerCommand(Commands.scaleService, ui, async (node?: ServiceNode) => {
      const s = await pick(node, 'Service to scale');
      if (!s) {
        return undefined;
      }
      if (!s.target) {
        throw new Error(
          `The service "${s.name}" runs on the lab's own engine, as one container: deploy it on a Swarm target to scale it.`,
        );
      }
      const count = await ui.input({
        title: `Scale ${s.name}: replicas`,
        prompt: `Replicas on the target ${s.target} (0 keeps the service with nothing running)`,
        value: String(s.replicaStatus?.desired ?? s.replicas ?? 1),
        validateInput: (v) =>
          /^[0-9]+$/.test(v.trim()) && Number(v) <= MAX_REPLICAS
            ? undefined
            : `A whole number from 0 to ${MAX_REPLICAS}`,
      });
      if (count === undefined) {
        return undefined;
      }
      const scaled = await (await backend.ready()).scaleService(s.name, Number(count.trim()), s.projectId);
      void ui.info(`ML Lab: "${scaled.name}" scaled to ${count.trim()} replicas.`);
      return scaled;
    }),
    registerCommand(Commands.deleteService, ui, async (node?: ServiceNode) => {
      const s = await pick(node, 'Service to remove');
      if (!s) {
        return false;
      }
      const ok = await ui.confirm(
        `Remove the service "${s.name}"?`,
        'Its container is stopped and removed. The image stays.',
        'Remove',
      );
      if (ok) {
        await (await backend.ready()).deleteService(s.name, s.projectId);
      }
      return ok;
    }),
    registerCommand(Commands.showServiceLogs, ui, async (node?: ServiceNode) => {
      const s = await pick(node, 'Service whose logs to show');
      if (!s) {
        return undefined;
      }
      const stream = await (await backend.ready()).serviceLogs(s.name, true, s.projectId);
      return logs.show(`ML Lab Service: ${s.name}`, stream);
    }),
    registerCommand(Commands.openService, ui, async (node?: ServiceNode) => {
      backend.requireLocal(
        'Opening a service in the browser',
        "it listens on a port of the lab's machine: open it there, or through an address its admin publishes.",
      );
      const s = await pick(node, 'Service to open');
      if (!s) {
        return undefined;
      }
      // in code-server this becomes a URL the person's browser can reach (its port forwarding)
      const uri = await vscode.env.asExternalUri(vscode.Uri.parse(serviceUrl(s)));
      await vscode.env.openExternal(uri);
      return uri;
    }),
    registerCommand(Commands.copyServiceDockerRun, ui, async (node?: ServiceNode) => {
      const s = await pick(node, 'Service whose docker run command to copy');
      if (s) {
        await ui.copy(s.dockerRun);
        void ui.info('ML Lab: copied the docker run command.');
      }
      return s?.dockerRun;
    }),
  ];
}
