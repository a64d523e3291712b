// The usage text of every command: kept apart from the commands so that `mllab --help` and the
// command dispatcher load none of them (each command module is loaded only when it runs).

export const DATASET_USAGE = `mllab dataset add PATH [--name N] [--description TEXT] [--tag T]... [--project P]
mllab dataset list [--project P]
mllab dataset get NAME[:vN] [--to DIR] [--project P]
mllab dataset rm NAME:vN [--yes] [--force] [--project P]`;

export const EXP_USAGE = `mllab exp list [--project P]
mllab exp show ID
mllab exp metrics ID KEY [--max-points N] [--from STEP] [--to STEP]
mllab exp rm ID [--yes]`;

export const JOB_USAGE = `mllab job create NAME --image IMG [--env K=V]... [--cpus N] [--gpus N|all] [--memory SIZE] [--timeout SEC] [--workdir DIR] [--target NAME] [--placement CONSTRAINT]... [--retries N] -- CMD [ARG...]
mllab job run NAME [--wait]
mllab job list
mllab job runs NAME
mllab job logs NAME [--run ID] [--follow]
mllab job stop NAME
mllab job rm NAME
mllab job export [--format yaml|json] [--to FILE]
mllab job import FILE`;

export const MODEL_USAGE = `mllab model register PATH --name N [--experiment ID] [--entry-point MODULE:FUNCTION] [--description TEXT] [--tag T]...
mllab model list
mllab model show NAME[:vN|@ALIAS]
mllab model alias NAME:vN ALIAS
mllab model deploy NAME[:vN|@ALIAS] [--base-image IMG] [--port P] [--name SERVICE] [--wait]
mllab model rm NAME:vN [--yes] [--force]`;

export const PIPELINE_USAGE = `mllab pipeline show
mllab pipeline run [JOB...]`;

export const PROJECT_USAGE = `mllab project list
mllab project create NAME [--description TEXT]
mllab project rename ID|NAME NEW_NAME
mllab project delete ID|NAME [--yes]
mllab project use ID|NAME`;

export const MEMBER_USAGE = `mllab project members PROJECT
mllab project member add PROJECT USER --role owner|editor|viewer
mllab project member remove PROJECT USER`;

export const RUN_USAGE = 'mllab run [--name N] [--param KEY=VALUE]... [--project P] -- COMMAND [ARG...]';

export const SWEEP_USAGE = `mllab sweep run sweep.yaml [--trials N] [--parallel N] [--wait] [--project P]
                                       start a parameter sweep (docs/SWEEPS.md); --wait follows it to its end
mllab sweep list [--project P]
mllab sweep show ID                    trials, best so far, parameter importances
mllab sweep pause|resume|stop ID
mllab sweep add ID N                   run N more trials`;

export const SYNC_USAGE = `mllab sync [--timeout S]               send the runs recorded for a lab over the network that it
                                       does not hold all of yet (from $MLLAB_LOCAL_RUNS)`;

export const SCHEDULE_USAGE = `mllab job schedule NAME "CRON" [--tz ZONE] [--overlap skip|queue] [--missed skip|run-once]
mllab job schedule NAME --enable | --disable
mllab job unschedule NAME
mllab job after NAME --upstream A [--upstream B]... | --none
mllab job history NAME
mllab job rerun-from NAME`;

export const SCHEDULE_COMMANDS: readonly string[] = ['schedule', 'unschedule', 'after', 'history', 'rerun-from'];

export const SERVICE_USAGE = `mllab service deploy NAME --image IMG [--port HOST:CONTAINER]... [--env K=V]... [--volume HOST:CONTAINER[:ro]]... [--restart POLICY] [--health PATH] [--target NAME] [--replicas N] [-- CMD [ARG...]]
mllab service list
mllab service logs NAME [--follow]
mllab service start|stop|restart|rm NAME
mllab service scale NAME REPLICAS   (a service on a Swarm target)`;

export const USER_USAGE = `mllab user add NAME [--role admin|member|viewer]
mllab user list
mllab user role NAME admin|member|viewer
mllab user remove NAME
mllab token create --user NAME [--scope viewer|member|admin] [--expires 30d] [--label TEXT]
mllab token list
mllab token revoke ID`;

export const TARGET_USAGE = `mllab target add NAME --docker-host URL [--tls-ca F --tls-cert F --tls-key F] [--registry HOST:PORT]
                                       a remote Docker Engine (tcp:// with TLS, ssh://) or a Swarm manager
mllab target list [--json]
mllab target show NAME                 its nodes: state, CPUs, memory, GPUs, labels, what runs there
mllab target rm NAME
mllab project target [NAME] [--project P]
                                       where the project's jobs and services run (local by default)`;

export const LOGIN_USAGE = `mllab login URL [--ca FILE] [--token T]
                                       remember a lab served to a team (the token is asked for,
                                       or read from stdin; --token shows it to others on this machine)
mllab logout                           forget the stored login`;
