"""llama-cpp-python's own OpenAI-compatible server, serving the embedded GGUF on loopback.

``python -m llama_cpp.server`` in a subprocess (the real server, nothing faked), started
on a free port and waited on until ``/v1/models`` answers. Used by the OpenAI engine's
tests and by ``benchmarks/bench_remote.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.servers.tgi_server import free_port

API_KEY_ENV = "LLAMA_SERVER_TEST_KEY"


def embedded_model_path(models_dir: Path) -> Path:
    """The assembled embedded GGUF, in ``models_dir`` (assembled once, then reused)."""
    from h2otui.engines.embedded import embedded_gguf

    home = Path(tempfile.mkdtemp(prefix="h2otui-llama-server-"))
    link = home / "models"
    link.symlink_to(models_dir, target_is_directory=True)
    return embedded_gguf("gemma3-270m-q4_k_m", home)


class LlamaServer:
    def __init__(
        self,
        model_path: Path,
        *,
        n_ctx: int = 512,
        api_key: str | None = None,
        n_threads: int = 2,
        alias: str = "gemma3-270m",
        interrupt_requests: bool = True,
    ) -> None:
        self.model_path = model_path
        self.port = free_port()
        self.n_ctx = n_ctx
        self.api_key = api_key
        self.n_threads = n_threads
        self.alias = alias
        #: llama-cpp-python's default: a new request interrupts the one in flight; False
        #: queues them instead (needed to measure concurrent requests)
        self.interrupt_requests = interrupt_requests
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = Path(tempfile.mkstemp(prefix="llama-server-", suffix=".log")[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> LlamaServer:
        cmd = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(self.model_path),
            "--model_alias", self.alias,
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--n_ctx", str(self.n_ctx),
            "--n_threads", str(self.n_threads),
            "--n_threads_batch", str(self.n_threads),
            "--verbose", "False",
            "--interrupt_requests", str(self.interrupt_requests),
        ]  # fmt: skip
        if self.api_key:
            cmd += ["--api_key", self.api_key]
        env = {k: v for k, v in os.environ.items() if not k.startswith("H2OTUI_")}
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        self._wait(timeout)
        return self

    def _wait(self, timeout: float) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited: {self.log.read_text()[-2000:]}")
            try:
                if (
                    httpx.get(self.url + "/v1/models", headers=headers, timeout=1.0).status_code
                    == 200
                ):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"llama_cpp.server did not start in {timeout}s: {self.log.read_text()[-2000:]}"
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
