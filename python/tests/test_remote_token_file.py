"""The token of a lab over the network read from a file (``MLLAB_TOKEN_FILE``): a job on a cluster gets
its token as a Docker secret, a file, never in its environment."""
import os
import tempfile
import unittest
from unittest import mock

from mllab._errors import MLLabError
from mllab._remote import remote_from_env


class TokenFileTest(unittest.TestCase):
    def test_the_token_is_read_from_the_file_when_no_token_is_set(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "token")
            with open(path, "w", encoding="utf-8") as f:
                f.write("mllab_0123_secret\n")
            env = {"MLLAB_URL": "https://lab.example.com:8443", "MLLAB_TOKEN_FILE": path}
            with mock.patch.dict(os.environ, env, clear=True):
                remote = remote_from_env()
            self.assertIsNotNone(remote)
            assert remote is not None
            self.assertEqual(remote.token, "mllab_0123_secret")
            # a token in the environment wins over the file
            with mock.patch.dict(os.environ, {**env, "MLLAB_TOKEN": "mllab_other"}, clear=True):
                self.assertEqual(remote_from_env().token, "mllab_other")  # type: ignore[union-attr]

    def test_a_file_that_cannot_be_read_is_named_in_the_error(self) -> None:
        env = {"MLLAB_URL": "https://lab.example.com:8443", "MLLAB_TOKEN_FILE": "/nonexistent/mllab/token"}
        with mock.patch.dict(os.environ, env, clear=True):
            with self.assertRaises(MLLabError) as caught:
                remote_from_env()
        self.assertIn("MLLAB_TOKEN_FILE names /nonexistent/mllab/token", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
