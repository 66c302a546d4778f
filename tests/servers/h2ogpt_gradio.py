"""A real Gradio app with h2oGPT's ``/submit_nochat_api`` contract, for loopback tests.

:class:`GradioServer` runs it in a subprocess on a free port for tests. Run by hand:
``python tests/servers/h2ogpt_gradio.py --port 7860 [--auth user:pass] [--key KEY]``.

Like h2oGPT's ``gradio_runner.py`` (``submit_nochat_api`` button, ``fun_with_dict_str``):
one string input holding ``str(dict(...))`` of h2oGPT parameters; the output is
``str(dict(response=..., sources=[...], error=..., save_dict={...}, ...))``, yielded
repeatedly while ``stream_output`` is true (``sources`` only in the final one, as h2oGPT
does). A wrong ``h2ogpt_key`` gets h2oGPT's ``Invalid Access Key`` answer with ``error``
set; ``save_dict`` echoes the key back, as h2oGPT's does.

The "model": ``SAY: <text>`` answers ``<text>``; anything else ``Echo: <instruction>``,
followed by what the server understood (langchain_mode, history length, max_new_tokens,
system prompt) so tests can check the payload. ``STALL`` in the instruction makes it
hang after the first words.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import subprocess
import sys
import time
from pathlib import Path

INVALID_KEY_MSG = (
    "Invalid Access Key, request access key from sales@h2o.ai or jon.mckinney@h2o.ai, pass API "
    "key through API calls, or set API key in Login tab for UI"
)


def build(key: str | None, delay: float):
    import gradio as gr

    def fun_with_dict_str(inputs_dict_str: str):
        kwargs = ast.literal_eval(inputs_dict_str)
        if not isinstance(kwargs, dict):
            raise ValueError("expected a string of a dict")
        instruction = kwargs.get("instruction_nochat") or kwargs.get("instruction") or ""
        save_dict = {
            "h2ogpt_key": kwargs.get("h2ogpt_key"),
            "base_model": "h2oai/h2ogpt-4096-llama2-7b-chat",
            "extra_dict": {"num_prompt_tokens": len(instruction.split())},
        }
        if key is not None and kwargs.get("h2ogpt_key") != key:
            yield str(
                dict(
                    response=INVALID_KEY_MSG, sources=[], error=INVALID_KEY_MSG, save_dict=save_dict
                )
            )
            return
        m = re.search(r"SAY: (.*)", instruction)
        if m:
            answer = m.group(1)
        else:
            history = kwargs.get("chat_conversation") or []
            answer = (
                f"Echo: {instruction} [langchain_mode={kwargs.get('langchain_mode')} "
                f"history={len(history)} max_new_tokens={kwargs.get('max_new_tokens')} "
                f"system={kwargs.get('system_prompt', '-')}]"
            )
        words = re.findall(r"\s*\S+", answer)
        max_new = int(kwargs.get("max_new_tokens") or 256)
        words = words[:max_new]
        sources = [
            {
                "score": 0.9,
                "content": "h2oGPT is an open-source LLM app.",
                "source": "user_guide.pdf",
            }
        ]
        text = ""
        stream = bool(kwargs.get("stream_output"))
        for i, w in enumerate(words):
            text += w
            if "STALL" in instruction and i == 1:
                time.sleep(3600)
            if stream:
                time.sleep(delay)
                yield str(dict(response=text, sources=[], error="", save_dict={}, llm_answers={}))
        save_dict["extra_dict"]["ntokens"] = len(words)
        yield str(
            dict(
                response=text,
                sources=sources,
                error="",
                sources_str="user_guide.pdf",
                prompt_raw=instruction,
                llm_answers={},
                save_dict=save_dict,
            )
        )

    with gr.Blocks() as demo:
        inputs_dict_str = gr.Textbox(visible=False)
        text_output_nochat_api = gr.Textbox(visible=False)
        submit_nochat_api = gr.Button("Submit nochat API", visible=False)
        submit_nochat_api.click(
            fun_with_dict_str,
            inputs=inputs_dict_str,
            outputs=text_output_nochat_api,
            queue=True,
            api_name="submit_nochat_api",
            concurrency_limit=None,  # a stalled request must not block the others
        )
    return demo


class GradioServer:
    """This app in a subprocess on a free loopback port (``wait()`` until it answers)."""

    def __init__(self, *args: str) -> None:
        from tests.servers.tgi_server import free_port

        self.port = free_port()
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_DISABLE_TELEMETRY": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__)), "--port", str(self.port), *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait(self, timeout: float = 120) -> GradioServer:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"gradio test server exited: {self.proc.stderr.read().decode()[-2000:]}"
                )  # type: ignore[union-attr]
            try:
                httpx.get(self.url + "/config", timeout=1.0)
                return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("gradio test server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--auth", default=None, help="user:password")
    parser.add_argument("--key", default=None, help="h2ogpt_key the server requires")
    parser.add_argument("--delay", type=float, default=0.01)
    args = parser.parse_args()
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    demo = build(args.key, args.delay)
    auth = tuple(args.auth.split(":", 1)) if args.auth else None
    demo.queue().launch(
        server_name="127.0.0.1",
        server_port=args.port,
        auth=auth,
        prevent_thread_lock=False,
        quiet=True,
        share=False,
        ssr_mode=False,
    )


if __name__ == "__main__":
    main()
