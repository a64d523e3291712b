"""A run sent to a lab over the network while the connection is cut, and one sent later by `mllab sync`.

Real parts only: the built lab (`node dist/cli.js serve --listen` with a certificate made by openssl
here), a Python script using the client in a child process, and a TCP proxy written here that cuts
every open connection on demand.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from typing import Any, Dict, List, Optional, Tuple

import support  # noqa: F401  (puts the package under test first on sys.path)

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_DIR = os.path.dirname(HERE)
REPO = os.path.dirname(PYTHON_DIR)
CLI = os.path.join(REPO, "dist", "cli.js")
NODE = shutil.which("node")
OPENSSL = shutil.which("openssl")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CuttingProxy:
    """Forwards TCP connections from a local port to ``target``; ``cut()`` closes every open one, and
    ``lose_next_answer()`` cuts them when the lab's next answer arrives, which it never delivers (the
    lab did the work; the client must not think it did not, nor do it twice)."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        self.open: List[socket.socket] = []
        self.lock = threading.Lock()
        self.cuts = 0
        self.answers_lost = 0
        self._lose_answer = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                client.close()  # the lab is down: as a refused connection would be
                continue
            with self.lock:
                self.open += [client, upstream]
            for a, b, answers in ((client, upstream, False), (upstream, client, True)):
                threading.Thread(target=self._pipe, args=(a, b, answers), daemon=True).start()

    def _pipe(self, source: socket.socket, dest: socket.socket, answers: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if answers and self._lose_answer.is_set():
                    self._lose_answer.clear()
                    self.answers_lost += 1
                    self.cut()
                    break
                dest.sendall(data)
        except OSError:
            pass
        for s in (source, dest):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> int:
        """Closes every open connection (both sides); returns how many client connections were cut."""
        with self.lock:
            sockets, self.open = self.open, []
        for s in sockets:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # a reset, not a close
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self.cuts += len(sockets) // 2
        return len(sockets) // 2

    def lose_next_answer(self) -> None:
        self._lose_answer.set()

    def close(self) -> None:
        self.server.close()
        self.cut()


SCRIPT = """
import os, sys, time
import mllab
n, pause = int(sys.argv[1]), float(sys.argv[2])
with mllab.experiment("over the network", params={"n": n}) as exp:
    print(exp.id, flush=True)
    for i in range(n):
        exp.log_metric("loss", 1.0 / (i + 1))
        if i % 500 == 499:
            time.sleep(pause)
        if i == n // 2:
            with open("weights.bin", "wb") as f:
                f.write(os.urandom(300_000))
            exp.log_artifact("weights.bin")
"""


@unittest.skipUnless(NODE and OPENSSL and os.path.isfile(CLI), "needs node, openssl and the built dist/cli.js")
class ShipperTest(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.mkdtemp(prefix="mllab-ship-")
        self.home = os.path.join(self.tmp, "lab")
        self.journal = os.path.join(self.tmp, "journal")
        self.cert = os.path.join(self.tmp, "lab.crt")
        key = os.path.join(self.tmp, "lab.key")
        subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", self.cert,
                        "-days", "1", "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=IP:127.0.0.1,DNS:localhost"], check=True, capture_output=True)
        self.key = key
        self.tls_port = free_port()
        self.lab: Optional[subprocess.Popen] = None
        self.start_lab()
        self.owner = self.registration()["token"]
        self.api("POST", "/api/users", {"name": "max", "role": "member"})
        self.token = self.api("POST", "/api/tokens", {"user": "max"})["token"]
        project = self.api("POST", "/api/projects", {"name": "Remote"})
        self.api("PUT", "/api/active-project", {"projectId": project["id"]})
        # a project the owner made has no members: max records runs in it as its editor
        self.api("PUT", f"/api/projects/{project['id']}/members/max", {"role": "editor"})
        self.proxy = CuttingProxy(self.tls_port)

    def tearDown(self) -> None:
        self.proxy.close()
        self.stop_lab()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- the lab ---------------------------------------------------------------------------------

    def start_lab(self, **env: str) -> None:
        self.lab = subprocess.Popen(
            [NODE, CLI, "serve", "--home", self.home, "--listen", f"127.0.0.1:{self.tls_port}", "--tls-cert",
             self.cert, "--tls-key", self.key, "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ, **env))
        text = ""
        while True:  # the JSON result, printed once it serves
            line = self.lab.stdout.readline()
            text += line
            if not line or line.startswith("}"):
                break
        self.assertIn('"serving":true', text.replace(" ", ""), f"the lab did not start: {text}")
        self.drains = [threading.Thread(target=stream.read, daemon=True) for stream in (self.lab.stdout, self.lab.stderr)]
        for drain in self.drains:  # so that the lab never blocks on a full pipe
            drain.start()

    def stop_lab(self, kill: bool = False) -> None:
        """Stops the lab: SIGTERM, or SIGKILL (no chance to finish a write or an answer)."""
        if self.lab is not None and self.lab.poll() is None:
            self.lab.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            self.lab.wait(30)
        if self.lab is not None:
            for drain in self.drains:
                drain.join(10)
            self.lab.stdout.close()
            self.lab.stderr.close()
        self.lab = None

    def registration(self) -> Dict[str, Any]:
        with open(os.path.join(self.home, "run", "backend.json"), encoding="utf-8") as f:
            return json.load(f)

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """A request on the lab's local port with the owner's token."""
        conn = http.client.HTTPConnection("127.0.0.1", self.registration()["port"], timeout=30)
        try:
            headers = {"Authorization": f"Bearer {self.owner}"}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=headers)
            res = conn.getresponse()
            text = res.read().decode()
            self.assertLess(res.status, 300, f"{method} {path}: {res.status} {text}")
            return json.loads(text) if text else None
        finally:
            conn.close()

    def points(self, run_id: str, n: int) -> Tuple[str, List[int]]:
        """Waits until the lab lists the run as ended with at least ``n`` points of its loss; returns its
        status and the steps of all the points it holds."""
        deadline = time.monotonic() + 60
        while True:
            rows = self.api("GET", "/api/experiments")["rows"]
            row = next((r for r in rows if r[0] == run_id), None)
            count = next((m[1] for m in row[10] if m[0] == "loss"), 0) if row is not None else 0
            if row is not None and row[2] != "running" and count >= n:
                series = self.api("GET", f"/api/experiments/{run_id}/metrics/loss")
                return row[2], series["steps"]
            self.assertLess(time.monotonic(), deadline, f"run {run_id} is not listed as ended with {n} points: {row}")
            time.sleep(0.2)

    # -- the client ------------------------------------------------------------------------------

    def env(self, **extra: str) -> Dict[str, str]:
        # the journal keeps the runs all sent (compared with the lab's copy) unless a test says otherwise
        env = dict(os.environ, PYTHONPATH=PYTHON_DIR, MLLAB_URL=f"https://127.0.0.1:{self.proxy.port}",
                   MLLAB_TOKEN=self.token, MLLAB_CA_FILE=self.cert, MLLAB_LOCAL_RUNS=self.journal,
                   MLLAB_KEEP_SHIPPED="1")
        env.pop("MLLAB_HOME", None)
        env.update(extra)
        return env

    def run_script(self, n: int, pause: float, **env: str) -> subprocess.Popen:
        path = os.path.join(self.tmp, "train.py")
        with open(path, "w", encoding="utf-8") as f:
            f.write(SCRIPT)
        return subprocess.Popen([sys.executable, path, str(n), str(pause)], cwd=self.tmp, env=self.env(**env),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def test_points_logged_while_connections_are_cut_arrive_once_each(self) -> None:
        script = self.run_script(10_000, 0.25)
        run_id = script.stdout.readline().strip()
        self.assertRegex(run_id, r"^\d{8}-\d{6}-[0-9a-f]{6}$")
        for turn in range(12):  # while points are logged (about 5 s): cut the connections again and again
            time.sleep(0.3)
            if turn % 2:
                self.proxy.lose_next_answer()
            else:
                self.proxy.cut()
        out, err = script.communicate(timeout=120)
        self.assertEqual(script.returncode, 0, err)
        self.assertGreaterEqual(self.proxy.cuts, 3, "connections were cut while the run was sent")
        self.assertGreaterEqual(self.proxy.answers_lost, 1, "answers of the lab were lost on the way")
        status, steps = self.points(run_id, 10_000)
        self.assertEqual(status, "completed")
        self.assertEqual(len(steps), 10_000, "every point arrived, none twice")
        self.assertEqual(steps, list(range(10_000)))
        with open(os.path.join(self.journal, run_id, "events.jsonl"), "rb") as f:
            local = f.read()
        lab_copy = os.path.join(self.home, "runs", run_id, "events.jsonl")
        with open(lab_copy, "rb") as f:
            self.assertEqual(f.read(), local, "the lab holds the journal's events byte for byte")
        with open(os.path.join(self.journal, ".shipped", run_id + ".json"), encoding="utf-8") as f:
            self.assertTrue(json.load(f)["done"])
        for name in ("run.json", "artifacts/weights.bin", "stdout.log", "packages.txt"):
            with open(os.path.join(self.journal, run_id, name), "rb") as mine, \
                    open(os.path.join(self.home, "runs", run_id, name), "rb") as labs:
                self.assertEqual(labs.read(), mine.read(), f"{name} is in the lab as in the journal")

    def test_the_lab_killed_during_the_run_loses_no_acknowledged_point_and_stores_none_twice(self) -> None:
        script = self.run_script(10_000, 0.25)
        run_id = script.stdout.readline().strip()
        journal_events = os.path.join(self.journal, run_id, "events.jsonl")
        lab_events = os.path.join(self.home, "runs", run_id, "events.jsonl")
        deadline = time.monotonic() + 30
        while not (os.path.exists(lab_events) and os.path.getsize(lab_events) > 0):  # sending has begun
            self.assertLess(time.monotonic(), deadline, "the run reached the lab")
            time.sleep(0.05)
        self.stop_lab(kill=True)
        self.assertIsNone(script.poll(), "the lab went down while the run was going on")
        time.sleep(1)
        self.start_lab()
        self.owner = self.registration()["token"]
        out, err = script.communicate(timeout=120)
        self.assertEqual(script.returncode, 0, err)
        status, steps = self.points(run_id, 10_000)
        self.assertEqual(status, "completed")
        self.assertEqual(steps, list(range(10_000)))
        with open(journal_events, "rb") as mine, open(lab_events, "rb") as labs:
            self.assertEqual(labs.read(), mine.read())

    def test_a_run_that_ended_while_the_lab_was_down_is_sent_by_sync(self) -> None:
        self.stop_lab()
        script = self.run_script(700, 0.0, MLLAB_SHIP_TIMEOUT="1")
        out, err = script.communicate(timeout=120)
        self.assertEqual(script.returncode, 0, err)
        run_id = out.strip()
        self.assertIn("python -m mllab sync", err, "the end says how to send the rest")
        self.assertFalse(os.path.exists(os.path.join(self.home, "runs", run_id)))

        self.start_lab()
        self.owner = self.registration()["token"]
        sync = subprocess.run([sys.executable, "-m", "mllab", "sync", "--timeout", "30"], cwd=self.tmp, env=self.env(),
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(sync.returncode, 0, sync.stderr)
        self.assertIn(f"sent run {run_id}", sync.stdout)
        status, steps = self.points(run_id, 700)
        self.assertEqual(status, "completed")
        self.assertEqual(steps, list(range(700)))
        again = subprocess.run([sys.executable, "-m", "mllab", "sync"], cwd=self.tmp, env=self.env(),
                               capture_output=True, text=True, timeout=120)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("Nothing to send", again.stdout)

    def run_code(self, code: str, **env: str) -> subprocess.Popen:
        path = os.path.join(self.tmp, "script.py")
        with open(path, "w", encoding="utf-8") as f:
            f.write(code)
        return subprocess.Popen([sys.executable, path], cwd=self.tmp, env=self.env(**env), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def experiment(self, run_id: str) -> Dict[str, Any]:
        return self.api("GET", f"/api/experiments/{run_id}")

    def audit(self) -> List[Dict[str, Any]]:
        with open(os.path.join(self.home, "logs", "audit.jsonl"), encoding="utf-8") as f:
            return [json.loads(line) for line in f]

    def test_files_the_lab_cannot_take_are_skipped_with_a_warning_and_the_run_all_sent_leaves_the_journal(self) -> None:
        script = self.run_code("""
import os, mllab
with mllab.experiment("odd names") as exp:
    with open(os.path.join(os.fsencode(exp.dir), b"bad-\\xff-name.bin"), "wb") as f:
        f.write(b"not UTF-8")
    deep = os.path.join(exp.dir, *(["d"] * 40))
    os.makedirs(deep)
    with open(os.path.join(deep, "too-deep.txt"), "w") as f:
        f.write("40 folders down")
    with open(os.path.join(exp.dir, "artifacts-ok.txt"), "w") as f:
        f.write("sent")
    for i in range(300):
        exp.log_metric("loss", 1.0 / (i + 1))
print(exp.id)
""", MLLAB_KEEP_SHIPPED="0")
        out, err = script.communicate(timeout=120)
        self.assertEqual(script.returncode, 0, err)
        run_id = out.strip()
        status, steps = self.points(run_id, 300)
        self.assertEqual(status, "completed")
        self.assertEqual(steps, list(range(300)), "the rest of the run was sent")
        with open(os.path.join(self.home, "runs", run_id, "artifacts-ok.txt"), encoding="utf-8") as f:
            self.assertEqual(f.read(), "sent")
        warnings = self.experiment(run_id).get("warnings") or []
        self.assertTrue(any("bad-\\xff-name.bin" in w and "not valid UTF-8" in w for w in warnings), warnings)
        self.assertTrue(any("too-deep.txt" in w and "41 parts" in w for w in warnings), warnings)
        self.assertEqual(len(warnings), 2, f"each said once: {warnings}")
        # all sent and ended: nothing of it is left in the journal
        self.assertFalse(os.path.exists(os.path.join(self.journal, run_id)), "the run directory is pruned")
        self.assertFalse(os.path.exists(os.path.join(self.journal, ".shipped", run_id + ".json")),
                         "its marker is pruned")

    def test_output_logs_are_sent_by_byte_offset_not_again_whole(self) -> None:
        script = self.run_code("""
import time, mllab
with mllab.experiment("chatty") as exp:
    print(exp.id, flush=True)
    for i in range(6):
        print(f"epoch {i}: " + "x" * 2000, flush=True)
        exp.log_metric("loss", 1.0 / (i + 1))
        time.sleep(1)
""")
        run_id = script.stdout.readline().strip()
        lab_log = os.path.join(self.home, "runs", run_id, "stdout.log")
        deadline = time.monotonic() + 30
        while not (os.path.exists(lab_log) and os.path.getsize(lab_log) > 0):
            self.assertLess(time.monotonic(), deadline, "the log reaches the lab while the run goes on")
            time.sleep(0.05)
        first = os.stat(lab_log)
        out, err = script.communicate(timeout=120)
        self.assertEqual(script.returncode, 0, err)
        self.points(run_id, 6)
        with open(os.path.join(self.journal, run_id, "stdout.log"), "rb") as mine, open(lab_log, "rb") as labs:
            self.assertEqual(labs.read(), mine.read(), "the lab holds the log as the journal")
        last = os.stat(lab_log)
        self.assertEqual(last.st_ino, first.st_ino, "appended to, never replaced by a whole copy")
        self.assertGreater(last.st_size, first.st_size)
        puts = [a for a in self.audit() if a["method"] == "PUT" and a["path"].endswith("/files/stdout.log")]
        self.assertEqual(puts, [], "the log is not sent whole")
        with open(os.path.join(self.journal, ".shipped", run_id + ".json"), encoding="utf-8") as f:
            self.assertEqual(json.load(f)["logs"]["stdout.log"], last.st_size)

    def test_a_run_whose_client_was_killed_is_marked_interrupted_by_the_lab_and_sync_sends_the_rest(self) -> None:
        self.stop_lab()
        self.start_lab(MLLAB_RUN_HEARTBEAT_TIMEOUT="2")
        self.owner = self.registration()["token"]
        # recorded on "another machine": the lab cannot ask about its pid; only its heartbeat tells
        far = "import socket\nsocket.gethostname = lambda: 'far-away-node'\n"
        script = self.run_code(far + """
import time, mllab
exp = mllab.start_experiment("killed")
print(exp.id, flush=True)
for i in range(100):
    exp.log_metric("loss", 1.0 / (i + 1))
exp.flush()
time.sleep(600)
""", MLLAB_SHIP_HEARTBEAT="0.3", MLLAB_KEEP_SHIPPED="0")
        run_id = script.stdout.readline().strip()

        def status() -> Optional[str]:
            rows = self.api("GET", "/api/experiments")["rows"]
            return next((r[2] for r in rows if r[0] == run_id), None)

        deadline = time.monotonic() + 30
        while status() != "running":
            self.assertLess(time.monotonic(), deadline, "the run shows in the lab")
            time.sleep(0.1)
        time.sleep(5)  # more than twice the lab's timeout without a point: the heartbeat keeps it running
        self.assertEqual(status(), "running", "an idle run whose client lives is not interrupted")
        script.send_signal(signal.SIGKILL)
        script.communicate(timeout=30)
        deadline = time.monotonic() + 30
        while status() != "interrupted":
            self.assertLess(time.monotonic(), deadline, f"the lab marks the run interrupted: {status()}")
            time.sleep(0.1)
        sync = subprocess.run([sys.executable, "-c", far + "import runpy, sys\nsys.argv = ['mllab', 'sync']\n"
                               "runpy.run_module('mllab', run_name='__main__')"],
                              cwd=self.tmp, env=self.env(MLLAB_KEEP_SHIPPED="0"), capture_output=True, text=True,
                              timeout=120)
        self.assertEqual(sync.returncode, 0, sync.stderr)
        self.assertIn(f"sent run {run_id}", sync.stdout)
        status_now, steps = self.points(run_id, 100)
        self.assertEqual(status_now, "interrupted")
        self.assertEqual(steps, list(range(100)))
        with open(os.path.join(self.home, "runs", run_id, "run.json"), encoding="utf-8") as f:
            self.assertEqual(json.load(f)["status"], "interrupted", "sync sent the run's end")
        self.assertFalse(os.path.exists(os.path.join(self.journal, run_id)), "and pruned it from the journal")

    def test_sync_without_a_lab_says_what_to_set(self) -> None:
        env = self.env()
        env.pop("MLLAB_URL")
        sync = subprocess.run([sys.executable, "-m", "mllab", "sync"], cwd=self.tmp, env=env, capture_output=True,
                              text=True, timeout=60)
        self.assertEqual(sync.returncode, 2)
        self.assertIn("MLLAB_URL", sync.stderr)


if __name__ == "__main__":
    unittest.main()
