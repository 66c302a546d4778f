"""h2oGPT server strings, redaction, model_lock literals, endpoint pools, stop scanning."""

from __future__ import annotations

import pytest

from h2otui.config import ConfigError, load_settings, parse_model_lock
from h2otui.engines import create_engine, resolve_engine_name
from h2otui.engines.base import EngineConfigError
from h2otui.engines.remote import Endpoint, EndpointPool, RemoteConfig, StopScanner
from h2otui.servers import (
    ServerSpec,
    engine_for_server,
    parse_server,
    redact_server,
    scrub,
)

# (server string, engine, base_url, chat, user, password, auth header, api key)
FORMS = [
    ("http://192.168.1.46:6112", "tgi", "http://192.168.1.46:6112", None, None, None, None, None),
    ("localhost:8080", "tgi", "http://localhost:8080", None, None, None, None, None),
    ("tgi:https://tgi.example:443/", "tgi", "https://tgi.example:443", None, None, None, None, None),
    ("https://server.h2o.ai    USER    AUTH", "tgi", "https://server.h2o.ai", None, "USER", "AUTH", None, None),
    ("http://h:80\tUSER\tAUTH", "tgi", "http://h:80", None, "USER", "AUTH", None, None),
    ("https://h    Bearer    tok-123", "tgi", "https://h", None, None, None, "Bearer tok-123", None),
    ("http://u:pw@h:81/x", "tgi", "http://h:81/x", None, "u", "pw", None, None),
    ("http://192.168.1.46:7860:user:password", "gradio", "http://192.168.1.46:7860", None, "user", "password", None, None),
    ("https://gpt.h2o.ai:None:user:password", "gradio", "https://gpt.h2o.ai", None, "user", "password", None, None),
    ("https://gpt.h2o.ai:user:password", "gradio", "https://gpt.h2o.ai", None, "user", "password", None, None),
    ("gradio:http://127.0.0.1:7860", "gradio", "http://127.0.0.1:7860", None, None, None, None, None),
    ("https://6a8d4035f1c8858731.gradio.live", "gradio", "https://6a8d4035f1c8858731.gradio.live", None, None, None, None, None),
    ("vllm:0.0.0.0:5000", "openai", "http://0.0.0.0:5000/v1", False, None, None, None, None),
    ("vllm_chat:10.0.0.1:5000", "openai", "http://10.0.0.1:5000/v1", True, None, None, None, None),
    ("vllm:http://127.0.0.1:8000/v1", "openai", "http://127.0.0.1:8000/v1", False, None, None, None, None),
    ("vllm_chat:https://vllm.h2o.ai/v1", "openai", "https://vllm.h2o.ai/v1", True, None, None, None, None),
    ("vllm_chat:https://vllm.h2o.ai:None:/v1:1234ABCD", "openai", "https://vllm.h2o.ai/v1", True, None, None, None, "1234ABCD"),
    ("vllm_chat:https://vllm.h2o.ai:5001:/1b12/v1:KEY9", "openai", "https://vllm.h2o.ai:5001/1b12/v1", True, None, None, None, "KEY9"),
    ("vllm_chat:https://api.together.xyz:None:/v1:1234ABCD", "openai", "https://api.together.xyz/v1", True, None, None, None, "1234ABCD"),
    ("openai", "openai", "https://api.openai.com/v1", False, None, None, None, None),
    ("openai_chat", "openai", "https://api.openai.com/v1", True, None, None, None, None),
    ("openai_chat:None:None:None:sk-abc", "openai", "https://api.openai.com/v1", True, None, None, None, "sk-abc"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("server", "engine", "base", "chat", "user", "password", "header", "key"), FORMS
)
def test_every_server_string_form_parses_to_its_engine_and_settings(
    server: str, engine: str, base: str, chat, user, password, header, key
) -> None:
    spec = parse_server(server)
    assert engine_for_server(server) == engine
    assert (spec.kind, spec.base_url, spec.chat) == (engine, base, chat)
    assert (spec.username, spec.password, spec.auth_header, spec.api_key) == (
        user,
        password,
        header,
        key,
    )
    shown = redact_server(server)
    for secret in (password, key, header):
        if secret:
            assert secret not in shown
            assert secret not in spec.label
    assert "://" not in base.split("://", 1)[1]  # no credentials in the URL we connect to


def test_engine_name_decides_what_a_plain_url_means() -> None:
    spec = parse_server("http://127.0.0.1:8000/v1", engine="openai")
    assert (spec.kind, spec.base_url, spec.chat) == ("openai", "http://127.0.0.1:8000/v1", True)
    assert parse_server("http://127.0.0.1:7860", engine="gradio").kind == "gradio"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "ftp://host:21",
        "http://host:notaport",
        "https://h    USER",
        "openai_azure_chat:d:b:v:k",
        "what ever",
    ],
)
def test_bad_server_strings_are_config_errors_that_never_echo_secrets(bad: str) -> None:
    with pytest.raises(EngineConfigError) as err:
        parse_server(bad + ("    USER    PW-SECRET-1" if bad.startswith("what") else ""))
    assert "PW-SECRET-1" not in str(err.value)


def test_redaction_keeps_what_is_useful() -> None:
    assert (
        redact_server("https://server.h2o.ai    USER    AUTH")
        == "https://server.h2o.ai    USER    ***"
    )
    assert redact_server("http://h:7860:alice:pw") == "http://h:7860:alice:***"
    assert (
        redact_server("vllm_chat:https://v.ai:None:/v1:KEY")
        == "vllm_chat:https://v.ai:None:/v1:***"
    )
    assert redact_server("vllm:h:5000:/v1:KEY") == "vllm:h:5000:/v1:***"
    assert redact_server("http://u:p@h/x") == "http://***@h/x"
    assert redact_server("http://127.0.0.1:8080") == "http://127.0.0.1:8080"
    assert (
        scrub("failed: token abc123 and http://u:p@h", ["abc123"])
        == "failed: token *** and http://***@h"
    )


def test_one_model_may_not_mix_server_kinds() -> None:
    settings = load_settings(
        overrides={"models": [{"name": "mix", "inference_server": ["http://h:1", "vllm:h:2"]}]}
    )
    with pytest.raises(EngineConfigError, match="same kind"):
        create_engine(settings.model("mix"), settings)


def test_model_lock_literal_h2ogpt_grid() -> None:
    """h2oGPT's documented compare grid, verbatim: names stay unique and secret-free."""
    text = (
        "[{'inference_server':'http://192.168.1.46:6112','base_model':'h2oai/h2ogpt-oasst1-512-12b'},"
        "{'inference_server':'http://192.168.1.46:7860','base_model':'h2oai/h2ogpt-oasst1-512-12b'},"
        "{'inference_server':'http://192.168.0.1:6000','base_model':'TheBloke/Wizard-Vicuna-13B-Uncensored-HF','prompt_type':'instruct'},"
        "{'inference_server':'openai_chat','base_model':'gpt-3.5-turbo'},"
        "{'inference_server':'https://server.h2o.ai    USER    AUTH-SECRET'},"
        "{'inference_server':'vllm:https://api.groq.com/openai:None:/v1:gsk-SECRET','base_model':'mixtral','visible_models':'mixtral','max_seq_len':31744,'prompt_type':'plain'}]"
    )
    entries = parse_model_lock(text)
    names = [e["name"] for e in entries]
    assert names[:2] == [
        "h2oai/h2ogpt-oasst1-512-12b@192.168.1.46:6112",
        "h2oai/h2ogpt-oasst1-512-12b@192.168.1.46:7860",
    ]
    assert names[4] == "server.h2o.ai"
    assert not any("SECRET" in n for n in names)
    assert entries[5]["options"] == {"context_length": 31744}
    settings = load_settings(overrides={"models": entries})
    engines = {m.name: resolve_engine_name(m) for m in settings.models if m.inference_server}
    assert list(engines.values()) == ["tgi", "tgi", "tgi", "openai", "tgi", "openai"]
    vicuna = create_engine(settings.model(names[2]), settings)
    assert vicuna.resolve_prompt_type() == "instruct"  # forced prompt_type wins
    h2o = create_engine(settings.model(names[0]), settings)
    assert h2o.resolve_prompt_type() == "human_bot"  # from base_model, as h2oGPT does
    groq = create_engine(settings.model("mixtral"), settings)
    assert groq.context_length == 31744


def test_openai_with_a_chat_model_uses_chat_completions_as_in_h2ogpt() -> None:
    settings = load_settings(
        overrides={
            "models": [
                {"name": "a", "inference_server": "openai", "base_model": "gpt-4o-mini"},
                {"name": "b", "inference_server": "openai", "base_model": "gpt-3.5-turbo-instruct"},
            ]
        }
    )
    chat = create_engine(settings.model("a"), settings)
    legacy = create_engine(settings.model("b"), settings)
    assert chat.is_chat(chat.specs[0]) and not legacy.is_chat(legacy.specs[0])


def test_model_lock_in_a_config_file(tmp_path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        "model_lock = \"[{'inference_server': 'vllm_chat:10.0.0.5:5000', 'base_model': 'zephyr'},"
        " {'inference_server': 'https://tgi.example    USER    SECRET-PW'}]\"\n"
    )
    settings = load_settings(config)
    names = [m.name for m in settings.models]
    assert names == ["gemma3-270m", "zephyr", "tgi.example"]
    assert resolve_engine_name(settings.model("zephyr")) == "openai"
    config.write_text(
        "[[model_lock]]\ninference_server = 'http://10.0.0.6:8080'\nbase_model = 'HuggingFaceH4/zephyr-7b-beta'\n"
    )
    settings = load_settings(config)
    engine = create_engine(settings.model("HuggingFaceH4/zephyr-7b-beta"), settings)
    assert engine.resolve_prompt_type() == "zephyr"
    config.write_text("model_lock = \"[{'inference_server': \"\n")
    with pytest.raises(ConfigError, match=r"model_lock in .*config\.toml"):
        load_settings(config)


def test_model_lock_rejects_unknown_keys_by_name() -> None:
    entries = parse_model_lock(
        "[{'inference_server':'http://h:1','base_model':'x','load_8bit':True}]"
    )
    with pytest.raises(ConfigError, match="load_8bit"):
        load_settings(overrides={"models": entries})


def test_remote_settings_and_request_timeout_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REQUEST_TIMEOUT", raising=False)
    settings = load_settings()
    assert RemoteConfig.build(settings, None).connect_timeout == 10.0
    monkeypatch.setenv("REQUEST_TIMEOUT", "5")
    assert RemoteConfig.build(load_settings(), None).connect_timeout == 5.0
    monkeypatch.setenv("H2OTUI_REMOTE__CONNECT_TIMEOUT", "3")
    monkeypatch.setenv("H2OTUI_REMOTE__STALL_TIMEOUT", "7")
    cfg = RemoteConfig.build(load_settings(), None)
    assert (cfg.connect_timeout, cfg.stall_timeout) == (3.0, 7.0)
    monkeypatch.setenv("H2OTUI_REMOTE__RETRIES", "-1")
    with pytest.raises(ConfigError, match=r"remote\.retries"):
        load_settings()


def test_per_model_options_override_remote_settings() -> None:
    settings = load_settings(
        overrides={
            "remote": {"stall_timeout": 50},
            "models": [
                {
                    "name": "t",
                    "inference_server": "http://h:1",
                    "options": {"stall_timeout": 2, "retries": 0},
                }
            ],
        }
    )
    engine = create_engine(settings.model("t"), settings)
    assert (engine.config.stall_timeout, engine.config.retries) == (2.0, 0)
    bad = load_settings(
        overrides={
            "models": [
                {"name": "t", "inference_server": "http://h:1", "options": {"stal_timeout": 2}}
            ]
        }
    )
    with pytest.raises(EngineConfigError, match="stal_timeout"):
        create_engine(bad.model("t"), bad)


def test_ca_bundle_must_exist(tmp_path) -> None:
    cfg = RemoteConfig(ca_bundle=str(tmp_path / "missing.pem"))
    with pytest.raises(EngineConfigError, match=r"missing\.pem"):
        cfg.ssl_verify()
    assert RemoteConfig(verify_tls=False).ssl_verify() is False


def test_pool_round_robin_and_cooldown() -> None:
    now = [100.0]
    pool = EndpointPool(
        [Endpoint(ServerSpec("tgi", f"http://h:{p}")) for p in (1, 2, 3)],
        cooldown=30.0,
        _clock=lambda: now[0],
    )
    firsts = [pool.candidates()[0].spec.base_url for _ in range(6)]
    assert firsts == ["http://h:1", "http://h:2", "http://h:3"] * 2
    pool.mark_failed(pool.endpoints[1], "down")
    orders = [[e.spec.base_url[-1] for e in pool.candidates()] for _ in range(3)]
    assert orders == [["1", "3", "2"], ["3", "1", "2"], ["1", "3", "2"]]  # even split
    now[0] += 31  # cooled down: back in rotation
    assert sorted(e.spec.base_url[-1] for e in pool.candidates()) == ["1", "2", "3"]
    assert {pool.candidates()[0].spec.base_url[-1] for _ in range(3)} == {"1", "2", "3"}


def test_stop_scanner_never_shows_part_of_a_stop() -> None:
    scanner = StopScanner(["<human>:", "\nQuestion:"])
    pieces = ["Paris is", " the capital.", "\nQues", "tion: what"]
    shown = [scanner.feed(p) for p in pieces]
    assert "".join(shown) == "Paris is the capital."
    assert scanner.stopped and scanner.flush() == ""
    scanner = StopScanner(["STOP"])
    assert scanner.feed("ST") == "" and scanner.feed("ART") == "START" and scanner.flush() == ""
    scanner = StopScanner(["STOP"])
    assert scanner.feed("end S") == "end " and scanner.flush() == "S"
