import { spawnSync } from 'child_process';
import { ApiError } from '../errors';

/** Where a sweep controller's interpreter is looked for: the one named by the user, else PATH's, then the system's. */
function candidates(): string[] {
  const chosen = process.env.MLLAB_SWEEP_PYTHON;
  return chosen ? [chosen] : ['python3', '/usr/bin/python3'];
}

const found = new Map<string, string>();

/**
 * A Python that has the modules (Optuna, and cmaes for CMA-ES): Debian's python3-optuna serves
 * /usr/bin/python3 while PATH may name another Python (a virtualenv, pyenv). Looked up once per set
 * of modules (find_spec imports nothing, so this takes a few ms); none: a 400 saying how to install it.
 */
export function sweepPython(modules: readonly string[]): string {
  const key = `${candidates().join(',')}:${modules.join(',')}`;
  const known = found.get(key);
  if (known !== undefined) {
    return known;
  }
  const check = `import importlib.util, sys; sys.exit(0 if all(importlib.util.find_spec(m) for m in ${JSON.stringify(modules)}) else 1)`;
  const tried: string[] = [];
  for (const python of candidates()) {
    const result = spawnSync(python, ['-c', check], { stdio: 'ignore', timeout: 10_000 });
    if (result.status === 0) {
      found.set(key, python);
      return python;
    }
    tried.push(python);
  }
  const [what, apt, pip] = modules.includes('cmaes')
    ? ['the cmaes module (CMA-ES)', 'python3-optuna python3-cmaes', 'optuna cmaes']
    : ['Optuna', 'python3-optuna', 'optuna'];
  throw new ApiError(
    400,
    'optuna_missing',
    `Sweeps need ${what}, which none of ${tried.join(', ')} has: install it with "sudo apt install ${apt}" or "pip install ${pip}" (or name a Python that has it in MLLAB_SWEEP_PYTHON), then run the sweep again.`,
  );
}
