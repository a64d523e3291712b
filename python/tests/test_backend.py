"""Registration, starting a backend from launcher.json, HTTP errors."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
import time
import unittest
from unittest import mock

import support
import mllab
from mllab import MLLabError, _backend

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class RegistrationTest(support.LabTestCase):
    def test_stale_registration_without_launcher(self) -> None:
        support.write_registration(self.home, pid=support.DEAD_PID, port=self.backend.port, token="t")
        with self.assertRaises(MLLabError) as e:
            mllab.datasets(home=self.home)
        self.assertEqual(
            str(e.exception),
            f"No ML Lab backend runs for {self.home}: start one with `npx mllab serve --home {self.home}` "
            f"or open the folder in VS Code.",
        )
        self.assertEqual(e.exception.code, "not_running")

    def test_no_registration_without_launcher(self) -> None:
        os.remove(os.path.join(self.home, "run", "backend.json"))
        with self.assertRaises(MLLabError) as e:
            mllab.datasets(home=self.home)
        self.assertIn("npx mllab serve --home", str(e.exception))

    def test_waits_for_a_starting_backend(self) -> None:
        support.write_registration(self.home, pid=os.getpid(), port=0, token=self.backend.token)
        timer = threading.Timer(0.5, support.write_registration, args=(self.home,),
                                kwargs={"pid": os.getpid(), "port": self.backend.port, "token": self.backend.token})
        timer.start()
        self.addCleanup(timer.cancel)
        started = time.monotonic()
        self.assertEqual(mllab.datasets(home=self.home), [])
        self.assertGreaterEqual(time.monotonic() - started, 0.4)

    def test_wrong_token_message_passes_through(self) -> None:
        support.write_registration(self.home, pid=os.getpid(), port=self.backend.port, token="wrong")
        with self.assertRaises(MLLabError) as e:
            mllab.datasets(home=self.home)
        self.assertIn("The bearer token is wrong", str(e.exception))
        self.assertEqual((e.exception.status, e.exception.code), (401, "unauthorized"))

    def test_sends_bearer_token(self) -> None:
        mllab.datasets(home=self.home)
        self.assertEqual(self.backend.requests[-1]["headers"]["Authorization"], f"Bearer {self.backend.token}")

    def test_retries_once_with_a_new_token_after_a_restart(self) -> None:
        client = _backend.connect(self.home)
        self.backend.token = "new-token"
        support.write_registration(self.home, pid=os.getpid(), port=self.backend.port, token="new-token")
        self.assertEqual(client.request("GET", "/api/datasets"), [])

    def test_reconnects_when_the_backend_moved_to_another_port(self) -> None:
        client = _backend.connect(self.home)
        self.backend.close()
        moved = support.FakeBackend(self.store, token="moved-token")
        self.addCleanup(moved.close)
        support.write_registration(self.home, pid=os.getpid(), port=moved.port, token="moved-token")
        self.assertEqual(client.request("GET", "/api/datasets"), [])
        self.assertEqual(len(moved.requests), 2)  # the status probe, then the retried request

    def test_pid_alive(self) -> None:
        from mllab._process import pid_alive
        self.assertTrue(pid_alive(os.getpid()))
        self.assertFalse(pid_alive(support.DEAD_PID))
        self.assertFalse(pid_alive(0))
        self.assertFalse(pid_alive(-1))
        self.assertFalse(pid_alive(2 ** 80))
        if sys.platform != "win32":
            with mock.patch("os.kill", side_effect=PermissionError):
                self.assertTrue(pid_alive(12345), "a process of another user counts as alive")

    def test_api_version_mismatch(self) -> None:
        support.write_registration(self.home, pid=os.getpid(), port=self.backend.port, token=self.backend.token,
                                   api_version=2)
        with self.assertRaises(MLLabError) as e:
            mllab.datasets(home=self.home)
        self.assertIn("API version 2", str(e.exception))

    def test_live_pid_that_does_not_answer(self) -> None:
        support.write_registration(self.home, pid=os.getpid(), port=free_port(), token="t")
        with self.assertRaises(MLLabError) as e:
            mllab.datasets(home=self.home)
        self.assertIn(f"Process {os.getpid()} owns the lab home", str(e.exception))
        self.assertIn("does not answer", str(e.exception))

    def test_error_without_json_body(self) -> None:
        self.backend.answer_override = (502, b"Bad Gateway from a proxy")
        with self.assertRaises(MLLabError) as e:
            mllab.datasets(home=self.home)
        self.assertIn("502", str(e.exception))
        self.assertIn("Bad Gateway from a proxy", str(e.exception))

    def test_non_json_success_body(self) -> None:
        self.backend.answer_override = (200, b"<html>hello</html>")
        with self.assertRaises(MLLabError) as e:
            mllab.datasets(home=self.home)
        self.assertIn("not JSON", str(e.exception))

    def test_env_home(self) -> None:
        os.environ["MLLAB_HOME"] = self.home
        self.addCleanup(os.environ.pop, "MLLAB_HOME", None)
        mllab.datasets()
        self.assertEqual(self.backend.requests[-1]["path"], "/api/datasets")


@unittest.skipIf(sys.platform == "win32", "uses SIGTERM")
class LauncherTest(support.LabTestCase):
    """No live backend: the client starts one from launcher.json (here a Python stand-in)."""

    def setUp(self) -> None:
        super().setUp()
        support.write_registration(self.home, pid=support.DEAD_PID, port=self.backend.port, token="t")
        with open(os.path.join(self.home, "seed.txt"), "wb") as f:
            f.write(b"seed data\n")

    def write_launcher(self, script: str, node: str = sys.executable, env=None) -> None:
        launcher = {"node": node, "script": script}
        if env is not None:
            launcher["env"] = env
        with open(os.path.join(self.home, "run", "launcher.json"), "w") as f:
            json.dump(launcher, f)

    def stop_launched(self) -> None:
        for proc in list(_backend._started):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            proc.wait(10)
            _backend._started.remove(proc)

    def test_starts_a_detached_backend(self) -> None:
        # as the backend writes it inside VS Code, where "node" is the Electron executable
        self.write_launcher(os.path.join(HERE, "fake_backend_main.py"), env={"ELECTRON_RUN_AS_NODE": "1"})
        self.addCleanup(self.stop_launched)
        path = mllab.dataset("seed", home=self.home)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), b"seed data\n")
        state, reg = _backend.read_registration(self.home)
        self.assertEqual(state, "ok")
        assert reg is not None
        self.assertNotEqual(reg.pid, os.getpid())
        self.assertNotEqual(os.getsid(reg.pid), os.getsid(0), "the backend runs in its own session")
        with open(os.path.join(self.home, "launch-args.txt")) as f:
            self.assertEqual(f.read().split("\n"),
                             ["--home", self.home, "--idle-exit", "300", "ELECTRON_RUN_AS_NODE=1"])
        # the next call reuses it
        mllab.datasets(home=self.home)
        self.assertEqual(len(_backend._started), 1)

    def test_backend_that_fails_to_start(self) -> None:
        script = os.path.join(self.tmp, "failing_backend.py")
        with open(script, "w") as f:
            f.write("import sys\nsys.stderr.write('fake backend: cannot open the database: disk I/O error\\n')\n"
                    "sys.exit(2)\n")
        self.write_launcher(script)
        self.addCleanup(self.stop_launched)
        with self.assertRaises(MLLabError) as e:
            mllab.datasets(home=self.home)
        self.assertIn("exited with code 2 while starting", str(e.exception))
        self.assertIn("disk I/O error", str(e.exception))

    def test_launcher_without_env(self) -> None:
        self.write_launcher(os.path.join(HERE, "fake_backend_main.py"))
        self.addCleanup(self.stop_launched)
        mllab.datasets(home=self.home)
        with open(os.path.join(self.home, "launch-args.txt")) as f:
            self.assertIn("ELECTRON_RUN_AS_NODE=None", f.read())

    def test_launcher_with_a_bad_env(self) -> None:
        self.write_launcher(os.path.join(HERE, "fake_backend_main.py"), env={"X": 1})
        with self.assertRaises(MLLabError) as e:
            mllab.datasets(home=self.home)
        self.assertIn("\"env\"", str(e.exception))

    def test_launcher_naming_a_missing_script(self) -> None:
        self.write_launcher(os.path.join(self.tmp, "gone", "backend.js"))
        with self.assertRaises(MLLabError) as e:
            mllab.datasets(home=self.home)
        self.assertIn("no longer exists", str(e.exception))
        self.assertIn("npx mllab serve --home", str(e.exception))

    def test_launcher_naming_a_missing_node(self) -> None:
        self.write_launcher(os.path.join(HERE, "fake_backend_main.py"), node=os.path.join(self.tmp, "no-node"))
        with self.assertRaises(MLLabError) as e:
            mllab.datasets(home=self.home)
        self.assertIn("Could not start the ML Lab backend", str(e.exception))


if __name__ == "__main__":
    unittest.main()
