"""Document prompts: h2oGPT's layout, and users' own prompts (e.g. Chinese) from settings."""

from __future__ import annotations

from pathlib import Path

from h2otui.config import QASettings, load_settings
from h2otui.qa.citations import Passage
from h2otui.qa.prompts import echo_stops, query_prompt, summary_prompt

ZH_PRE = "注意并记住下面的信息，这将有助于在上下文结束后回答问题或祈使句。"
ZH_QUERY = "仅根据上述上下文中提供的文档来源中的信息，"


def test_query_prompt_has_h2ogpts_layout_best_source_nearest_the_question() -> None:
    best = Passage(text="Okafor led Zephyr.", source="/d/report.pdf", page=3, score=0.8)
    other = Passage(text="Vans: 42.", source="/d/fleet.txt", score=0.5)
    text = query_prompt("Who led Zephyr?", [best, other], pre_prompt="PRE", prompt="POST ")
    assert text == (
        'PRE\n"""\n[2] fleet.txt\nVans: 42.\n\n[1] report.pdf p.3\nOkafor led Zephyr.\n"""\n'
        "POST Who led Zephyr?"
    )
    assert "no matching documents" in query_prompt("q?", [], pre_prompt="PRE", prompt="POST ")


def test_summary_prompt_focuses_on_a_question_when_given() -> None:
    parts = [
        Passage(text="Page one.", source="/d/a.pdf", page=1),
        Passage(text="Page two.", source="/d/a.pdf", page=2),
    ]
    assert summary_prompt(parts, pre_prompt="PRE", prompt="Summarize.") == (
        'PRE\n"""\nPage one.\n\nPage two.\n"""\nSummarize.'
    )
    assert summary_prompt(parts, pre_prompt="PRE", prompt="Summarize.", question="costs").endswith(
        '"""\nFocusing on costs, Summarize.'
    )


def test_users_change_the_prompts_like_h2ogpts_chinese_example(tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[qa]\npre_prompt_query = "{ZH_PRE}"\nprompt_query = "{ZH_QUERY}"\ntop_k_docs = -1\n'
    )
    monkeypatch.setenv("H2OTUI_QA__SYSTEM_PROMPT", "你是一个有用的纯中文语言助手，绝对只使用中文。")
    settings = load_settings(config)
    qa = settings.qa
    assert (qa.pre_prompt_query, qa.prompt_query, qa.top_k_docs) == (ZH_PRE, ZH_QUERY, -1)
    assert qa.system_prompt.startswith("你是")
    text = query_prompt(
        "谁领导了项目？",
        [Passage(text="文本", source="/d/x.txt")],
        pre_prompt=qa.pre_prompt_query,
        prompt=qa.prompt_query,
    )
    assert text.startswith(ZH_PRE) and text.endswith(ZH_QUERY + "谁领导了项目？")
    # the model starting to repeat the instructions ends the answer
    assert echo_stops(qa.pre_prompt_query, qa.prompt_query)[:2] == [
        "\n" + ZH_PRE[:8],
        "\n" + ZH_QUERY[:8],
    ]
    assert echo_stops("Pay attention and remember")[0] == "\nPay attention and"


def test_bad_qa_settings_are_clear_errors(tmp_path: Path) -> None:
    import pytest

    from h2otui.config import ConfigError

    config = tmp_path / "config.toml"
    config.write_text("[qa]\ntop_k_docs = 0\n")
    with pytest.raises(ConfigError, match=r"qa\.top_k_docs"):
        load_settings(config)
    config.write_text('[qa]\nsearch = "fuzzy"\n')
    with pytest.raises(ConfigError, match=r"qa\.search"):
        load_settings(config)
    assert QASettings().top_k_docs == 3 and QASettings().search == "hybrid"
