"""Datasets of a lab over the network, fetched by the Python client into its local cache.

Real parts only: the built lab (`node dist/cli.js serve --listen` with a certificate made by openssl
here), datasets added to it, and a TCP proxy written here that counts the bytes it forwards and cuts
its connections on demand, or refuses them (the network gone).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from typing import Any, Dict, List, Optional

import support  # noqa: F401  (puts the package under test first on sys.path)

import mllab
from mllab import MLLabError

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CLI = os.path.join(REPO, "dist", "cli.js")
NODE = shutil.which("node")
OPENSSL = shutil.which("openssl")
MB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CountingProxy:
    """Forwards TCP connections to ``target``, counting the bytes sent down to the client;
    ``cut_after_down(n)`` resets every connection once ``n`` more bytes went down; with ``refusing``
    set, new connections are closed at once (as if the lab could not be reached)."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        self.lock = threading.Lock()
        self.open: List[socket.socket] = []
        self.down = 0
        self.connections = 0
        self.cuts = 0
        self.refusing = False
        self._cut_at: Optional[int] = None
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if self.refusing:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                client.close()
                continue
            with self.lock:
                self.open += [client, upstream]
                self.connections += 1
            for a, b, down in ((client, upstream, False), (upstream, client, True)):
                threading.Thread(target=self._pipe, args=(a, b, down), daemon=True).start()

    def _pipe(self, source: socket.socket, dest: socket.socket, down: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                dest.sendall(data)
                if down:
                    with self.lock:
                        self.down += len(data)
                        cut = self._cut_at is not None and self.down >= self._cut_at
                        if cut:
                            self._cut_at = None
                    if cut:
                        self.cut()
                        break
        except OSError:
            pass
        for s in (source, dest):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut_after_down(self, n: int) -> None:
        with self.lock:
            self._cut_at = self.down + n

    def cut(self) -> None:
        with self.lock:
            sockets, self.open = self.open, []
            self.cuts += 1
        for s in sockets:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # a reset
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self) -> None:
        self.server.close()
        self.cut()


class ServedLabCase(unittest.TestCase):
    """A lab served over TLS for the class's tests: ``ann`` views its project, ``max`` edits it."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = tempfile.mkdtemp(prefix="mllab-remote-data-")
        cls.home = os.path.join(cls.tmp, "lab")
        cls.cert = os.path.join(cls.tmp, "lab.crt")
        key = os.path.join(cls.tmp, "lab.key")
        subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cls.cert,
                        "-days", "1", "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=IP:127.0.0.1,DNS:localhost"], check=True, capture_output=True)
        tls_port = free_port()
        cls.lab = subprocess.Popen(
            [NODE, CLI, "serve", "--home", cls.home, "--listen", f"127.0.0.1:{tls_port}", "--tls-cert", cls.cert,
             "--tls-key", key, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        text = ""
        while True:  # the JSON result, printed once it serves
            line = cls.lab.stdout.readline()
            text += line
            if not line or line.startswith("}"):
                break
        assert '"serving":true' in text.replace(" ", ""), f"the lab did not start: {text}"
        cls.drains = [threading.Thread(target=s.read, daemon=True) for s in (cls.lab.stdout, cls.lab.stderr)]
        for drain in cls.drains:
            drain.start()
        with open(os.path.join(cls.home, "run", "backend.json"), encoding="utf-8") as f:
            registration = json.load(f)
        cls.local_port, cls.owner = registration["port"], registration["token"]
        cls.api("POST", "/api/users", {"name": "ann", "role": "viewer"})
        cls.token = cls.api("POST", "/api/tokens", {"user": "ann"})["token"]
        project = cls.api("POST", "/api/projects", {"name": "Shared data"})
        cls.api("PUT", "/api/active-project", {"projectId": project["id"]})
        cls.api("PUT", f"/api/projects/{project['id']}/members/ann", {"role": "viewer"})
        cls.api("POST", "/api/users", {"name": "max", "role": "member"})
        cls.member_token = cls.api("POST", "/api/tokens", {"user": "max"})["token"]
        cls.api("PUT", f"/api/projects/{project['id']}/members/max", {"role": "editor"})
        cls.proxy = CountingProxy(tls_port)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.proxy.close()
        if cls.lab.poll() is None:
            cls.lab.send_signal(signal.SIGTERM)
            cls.lab.wait(30)
        for drain in cls.drains:
            drain.join(10)
        cls.lab.stdout.close()
        cls.lab.stderr.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def api(cls, method: str, path: str, body: Any = None) -> Any:
        """A request on the lab's local port with the owner's token."""
        conn = http.client.HTTPConnection("127.0.0.1", cls.local_port, timeout=60)
        try:
            headers = {"Authorization": f"Bearer {cls.owner}"}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=headers)
            res = conn.getresponse()
            text = res.read().decode()
            assert res.status < 300, f"{method} {path}: {res.status} {text}"
            return json.loads(text) if text else None
        finally:
            conn.close()

    def setUp(self) -> None:
        self.cache = tempfile.mkdtemp(prefix="cache-", dir=self.tmp)
        self.saved = dict(os.environ)
        os.environ.pop("MLLAB_HOME", None)
        os.environ.update(MLLAB_URL=f"https://127.0.0.1:{self.proxy.port}", MLLAB_TOKEN=self.token,
                          MLLAB_CA_FILE=self.cert, MLLAB_CACHE_DIR=self.cache)
        os.environ.pop("MLLAB_CACHE_MAX_BYTES", None)
        self.proxy.refusing = False

    def tearDown(self) -> None:
        os.environ.clear()
        os.environ.update(self.saved)
        self.proxy.refusing = False


@unittest.skipUnless(NODE and OPENSSL and os.path.isfile(CLI), "needs node, openssl and the built dist/cli.js")
class RemoteDatasetTest(ServedLabCase):
    def add(self, name: str, data: bytes) -> Dict[str, Any]:
        source = os.path.join(self.tmp, f"{name}.bin")
        with open(source, "wb") as f:
            f.write(data)
        return self.api("POST", "/api/datasets", {"path": source, "name": name})

    def test_fetched_once_into_the_cache_then_used_without_the_network(self) -> None:
        data = os.urandom(3 * MB)
        version = self.add("churn", data)
        before = self.proxy.down
        path = mllab.dataset("churn")
        self.assertTrue(path.startswith(os.path.join(self.cache, "sha256") + os.sep), path)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), data)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode) & 0o222, 0, "cached content is read-only")
        self.assertGreaterEqual(self.proxy.down - before, len(data))
        self.assertEqual(os.listdir(os.path.join(self.cache, "tmp")), [], "no partial file is left")

        before = self.proxy.down
        self.assertEqual(mllab.dataset("churn", version=version["version"]), path)
        self.assertLess(self.proxy.down - before, 64 * 1024, "the second call fetched no content")

        self.proxy.refusing = True
        connections = self.proxy.connections
        self.assertEqual(mllab.dataset(f"churn:v{version['version']}"), path)
        self.assertEqual(mllab.dataset("churn"), path, "the latest version when the lab last answered")
        self.assertEqual(self.proxy.connections, connections, "no connection reached the lab")
        with self.assertRaises(MLLabError) as caught:
            mllab.dataset("never-fetched")
        self.assertIn("is not in the local cache", str(caught.exception))

    def test_a_fetch_cut_off_goes_on_from_the_bytes_received(self) -> None:
        data = os.urandom(16 * MB)
        self.add("images-raw", data)
        before = self.proxy.down
        cuts = self.proxy.cuts
        self.proxy.cut_after_down(8 * MB)
        path = mllab.dataset("images-raw")
        with open(path, "rb") as f:
            self.assertEqual(f.read(), data)
        self.assertEqual(self.proxy.cuts, cuts + 1, "the connection was cut during the fetch")
        # fetched again from the start: 8 + 16 MiB went down; resumed: 16 MiB and what the cut lost in the
        # socket buffers between the proxy and the client (a few MiB at most)
        self.assertLess(self.proxy.down - before, len(data) + 6 * MB, "resumed, not fetched again from the start")

    def test_least_recently_used_content_goes_first_beyond_the_cap(self) -> None:
        os.environ["MLLAB_CACHE_MAX_BYTES"] = str(int(2.5 * MB))
        blobs = {name: os.urandom(MB) for name in ("lru-a", "lru-b", "lru-c")}
        versions = {name: self.add(name, data) for name, data in blobs.items()}
        a = mllab.dataset("lru-a")
        time.sleep(0.05)
        b = mllab.dataset("lru-b")
        time.sleep(0.05)
        self.assertEqual(mllab.dataset("lru-a"), a)  # used again: b is now the least recently used
        time.sleep(0.05)
        c = mllab.dataset("lru-c")
        self.assertTrue(os.path.exists(a))
        self.assertTrue(os.path.exists(c))
        self.assertFalse(os.path.exists(b), "the least recently used content was evicted")
        self.assertFalse(os.path.exists(b + ".ok"))
        before = self.proxy.down
        self.assertEqual(mllab.dataset("lru-b"), b)
        self.assertGreaterEqual(self.proxy.down - before, MB, "evicted content is fetched again")
        with open(b, "rb") as f:
            self.assertEqual(f.read(), blobs["lru-b"])
        self.assertEqual(versions["lru-b"]["sha256"], os.path.basename(os.path.dirname(b)) + os.path.basename(b))

    def test_a_damaged_cache_file_is_found_and_fetched_again(self) -> None:
        data = os.urandom(2 * MB)
        self.add("labels", data)
        path = mllab.dataset("labels")
        os.chmod(path, 0o600)
        with open(path, "r+b") as f:
            f.seek(MB)
            f.write(b"\x00" if data[MB:MB + 1] != b"\x00" else b"\x01")
        before = self.proxy.down
        self.assertEqual(mllab.dataset("labels"), path)
        self.assertGreaterEqual(self.proxy.down - before, len(data), "the damaged file was fetched again")
        with open(path, "rb") as f:
            self.assertEqual(f.read(), data)

    def test_a_package_is_unpacked_once_from_the_cache(self) -> None:
        folder = os.path.join(self.tmp, "corpus")
        os.makedirs(os.path.join(folder, "docs"))
        files = {"readme.txt": b"hello\n", os.path.join("docs", "a.bin"): os.urandom(100_000)}
        for rel, content in files.items():
            with open(os.path.join(folder, rel), "wb") as f:
                f.write(content)
        version = self.api("POST", "/api/datasets", {"path": folder, "name": "corpus"})
        self.assertEqual(version["kind"], "package")
        unpacked = mllab.dataset("corpus")
        self.assertEqual(unpacked, os.path.join(self.cache, "unpacked", version["sha256"]))
        for rel, content in files.items():
            with open(os.path.join(unpacked, rel), "rb") as f:
                self.assertEqual(f.read(), content)
        marker = os.stat(unpacked).st_ino
        self.assertEqual(mllab.dataset("corpus"), unpacked)
        self.assertEqual(os.stat(unpacked).st_ino, marker, "not unpacked again")
        zipped = mllab.dataset("corpus", unpack=False)
        self.assertTrue(zipped.startswith(os.path.join(self.cache, "sha256")))

    def test_two_processes_fetching_the_same_content_share_one_fetch(self) -> None:
        data = os.urandom(4 * MB)
        self.add("shared", data)
        env = dict(os.environ, PYTHONPATH=os.path.dirname(HERE))
        script = "import mllab; print(mllab.dataset('shared'))"
        before = self.proxy.down
        children = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True) for _ in range(2)]
        results = [child.communicate(timeout=120) for child in children]
        for child, (out, err) in zip(children, results):
            self.assertEqual(child.returncode, 0, err)
        paths = {out.strip() for out, _err in results}
        self.assertEqual(len(paths), 1, paths)
        with open(paths.pop(), "rb") as f:
            self.assertEqual(f.read(), data)
        self.assertLess(self.proxy.down - before, 1.5 * len(data), "the content was fetched once")

    def test_an_empty_file_is_fetched_too(self) -> None:
        self.add("empty", b"")
        path = mllab.dataset("empty")
        self.assertEqual(os.path.getsize(path), 0)
        self.assertEqual(mllab.dataset("empty"), path)

    def test_the_lab_s_refusals_are_said_in_words(self) -> None:
        with self.assertRaises(MLLabError) as caught:
            mllab.dataset("no-such-data")
        self.assertIn("No dataset called", str(caught.exception))
        os.environ["MLLAB_TOKEN"] = "mllab_0000000000000000_" + "0" * 64
        with self.assertRaises(MLLabError) as refused:
            mllab.dataset("churn")
        self.assertIn("refused the token", str(refused.exception))
        self.assertNotIn("0" * 64, str(refused.exception))


if __name__ == "__main__":
    unittest.main()


@unittest.skipUnless(NODE and OPENSSL and os.path.isfile(CLI), "needs node, openssl and the built dist/cli.js")
class RemoteAddDatasetTest(ServedLabCase):
    """mllab.add_dataset against a lab over the network: the content is sent, then the version made of it."""

    def setUp(self) -> None:
        super().setUp()
        os.environ["MLLAB_TOKEN"] = self.member_token

    def write(self, name: str, data: bytes) -> str:
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_a_new_big_file_is_sent_hashed_on_the_way_and_a_second_time_not_at_all(self) -> None:
        data = os.urandom(20 * MB)  # above the size hashed first: sent under an upload id
        source = self.write("signals.bin", data)
        version = mllab.add_dataset(source, description="sensor dump", tags=["raw"])
        self.assertEqual(version["name"], "signals.bin")
        self.assertEqual(version["sha256"], hashlib.sha256(data).hexdigest())
        self.assertEqual((version["size"], version["kind"], version["fileName"]), (len(data), "file", "signals.bin"))
        self.assertEqual((version["description"], version["tags"]), ("sensor dump", ["raw"]))
        self.assertEqual((version["sent"], version["deduplicated"]), (len(data), False))
        self.assertEqual(version["sourcePath"], source)
        blob = os.path.join(self.home, "blobs", "sha256", version["sha256"][:2], version["sha256"][2:])
        with open(blob, "rb") as f:
            self.assertEqual(f.read(), data, "the lab stored the file")
        self.assertEqual(os.listdir(os.path.join(self.home, "tmp", "uploads")), [], "no partial upload is left")

        again = mllab.add_dataset(source, name="signals-copy")
        self.assertEqual((again["sent"], again["deduplicated"], again["sha256"]), (0, True, version["sha256"]))
        with open(source, "ab") as f:
            f.write(b"changed")
        changed = mllab.add_dataset(source)
        self.assertEqual(changed["version"], version["version"] + 1)
        self.assertEqual(changed["sha256"], hashlib.sha256(data + b"changed").hexdigest())
        self.assertFalse(changed["deduplicated"])

    def test_an_upload_cut_off_goes_on_from_the_bytes_the_lab_holds(self) -> None:
        data = os.urandom(40 * MB)
        source = self.write("cut.bin", data)
        uploads = os.path.join(self.home, "tmp", "uploads")
        held_at_cut: List[int] = []

        def held() -> int:
            names = os.listdir(uploads) if os.path.isdir(uploads) else []
            return sum(os.path.getsize(os.path.join(uploads, n)) for n in names
                       if os.path.exists(os.path.join(uploads, n)))

        def cutter() -> None:  # the connection breaks once the lab holds part of the file
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and held() < 8 * MB:
                time.sleep(0.005)
            held_at_cut.append(held())
            self.proxy.cut()

        cuts = self.proxy.cuts
        thread = threading.Thread(target=cutter)
        thread.start()
        version = mllab.add_dataset(source, name="cut")
        thread.join()
        self.assertEqual(self.proxy.cuts, cuts + 1)
        self.assertEqual(version["sha256"], hashlib.sha256(data).hexdigest())
        with open(os.path.join(self.home, "logs", "backend.log"), encoding="utf-8") as f:
            resumed = [int(n) for n in re.findall(r"the upload of \w+ goes on from byte (\d+)", f.read())]
        self.assertTrue(resumed and resumed[-1] >= held_at_cut[0] > 0, f"resumed at {resumed}, held {held_at_cut}")
        self.assertLess(version["sent"], 2 * len(data), "not sent again from the start")

    def test_a_small_file_is_asked_for_first_and_fetched_back_the_same(self) -> None:
        data = os.urandom(MB)
        source = self.write("labels.csv", data)
        version = mllab.add_dataset(source, name="labels")
        self.assertEqual((version["sent"], version["deduplicated"], version["mediaType"]), (len(data), False, "text/csv"))
        os.environ["MLLAB_TOKEN"] = self.token  # the viewer reads it back
        with open(mllab.dataset("labels"), "rb") as f:
            self.assertEqual(f.read(), data)

    def test_a_folder_is_sent_as_one_package(self) -> None:
        folder = os.path.join(self.tmp, "images")
        os.makedirs(os.path.join(folder, "cats"), exist_ok=True)
        files = {"labels.csv": b"file,label\na.png,cat\n", os.path.join("cats", "a.png"): os.urandom(50_000)}
        for rel, content in files.items():
            self.write(os.path.join("images", rel), content)
        version = mllab.add_dataset(folder)
        self.assertEqual((version["name"], version["kind"], version["fileName"]), ("images", "package", "images.zip"))
        self.assertEqual((version["fileCount"], version["unpackedSize"]), (2, sum(len(c) for c in files.values())))
        unpacked = mllab.dataset("images")
        for rel, content in files.items():
            with open(os.path.join(unpacked, rel), "rb") as f:
                self.assertEqual(f.read(), content)

    def test_a_viewer_is_told_that_sending_needs_the_member_role(self) -> None:
        os.environ["MLLAB_TOKEN"] = self.token
        with self.assertRaises(MLLabError) as caught:
            mllab.add_dataset(self.write("no.csv", b"a,b\n"))
        self.assertIn("member role", str(caught.exception))
        with self.assertRaises(MLLabError) as caught:
            mllab.add_dataset(os.path.join(self.tmp, "missing.csv"))
        self.assertIn("There is no file or folder", str(caught.exception))
