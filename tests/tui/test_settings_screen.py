"""The settings screen: every setting with its description, value, default and layer;
edits of each type written to the user config (validated first, nothing written on
error), reset, read-only values from the environment, the palette's theme surviving a
restart. Engines are the scripted fake: nothing here generates."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from textual.widgets import Input, OptionList, Select, Static, Switch, TextArea
from tui_fakes import ScriptedEngine

from h2otui.app import make_app
from h2otui.config import Layer, Settings, load_settings
from h2otui.screens.setting_edit import SettingEditScreen
from h2otui.screens.settings import SettingsScreen


@pytest.fixture
def user_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "user" / "config.toml"
    monkeypatch.setenv("H2OTUI_USER_CONFIG", str(path))
    return path


def app_for(settings: Settings):  # type: ignore[no-untyped-def]
    return make_app(settings, engine_factory=lambda entry, s: ScriptedEngine())


def saved(path: Path) -> dict:
    return tomllib.loads(path.read_text()) if path.exists() else {}


async def open_settings(pilot) -> SettingsScreen:  # type: ignore[no-untyped-def]
    await pilot.press("f5")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, SettingsScreen)
    return screen


async def highlight(pilot, option_id: str) -> None:  # type: ignore[no-untyped-def]
    option_list = pilot.app.screen.query_one("#settings-list", OptionList)
    option_list.highlighted = option_list.get_option_index(option_id)
    await pilot.pause()


def detail(pilot) -> str:  # type: ignore[no-untyped-def]
    return str(pilot.app.screen.query_one("#settings-detail", Static).render())


async def edit(pilot, key: str) -> SettingEditScreen:  # type: ignore[no-untyped-def]
    await highlight(pilot, f"key:{key}")
    await pilot.press("enter")
    await pilot.pause()
    dialog = pilot.app.screen
    assert isinstance(dialog, SettingEditScreen), f"no editor for {key}"
    return dialog


async def save(pilot) -> str:  # type: ignore[no-untyped-def]
    """Ctrl+S in the editor; returns the error it shows ('' when it closed)."""
    dialog = pilot.app.screen
    await pilot.press("ctrl+s")
    await pilot.pause()
    if pilot.app.screen is dialog:
        return str(dialog.query_one("#error").render())
    return ""


async def test_every_setting_is_listed_with_description_default_and_layer(
    user_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_file.parent.mkdir()
    user_file.write_text("[generation]\nmax_new_tokens = 300\n")
    monkeypatch.setenv("H2OTUI_QA__TOP_K_DOCS", "7")
    app = app_for(load_settings())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert "Go to Settings" in [c.title for c in app.get_system_commands(app.screen)]
        await open_settings(pilot)
        option_list = pilot.app.screen.query_one("#settings-list", OptionList)
        ids = {option_list.get_option_at_index(i).id for i in range(option_list.option_count)}
        for key in Settings.leaf_keys():
            assert f"key:{key}" in ids, key
        assert "model:gemma3-270m" in ids
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Go to Chat" in titles and "Edit the highlighted setting" in titles
        assert "Add a model" in titles

        await highlight(pilot, "key:generation.max_new_tokens")
        text = detail(pilot)
        assert "Most tokens to generate per answer." in text
        assert "value: 300" in text and "default: 256" in text
        assert f"from: user ({user_file})" in text

        # a value from H2OTUI_* is shown as such and cannot be edited here
        await highlight(pilot, "key:qa.top_k_docs")
        text = detail(pilot)
        assert "value: 7" in text and "H2OTUI_QA__TOP_K_DOCS" in text and "read-only" in text
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(pilot.app.screen, SettingsScreen)  # no editor opened
        await pilot.press("r")
        await pilot.pause()
        assert saved(user_file) == {"generation": {"max_new_tokens": 300}}
        assert app.settings.qa.top_k_docs == 7


async def test_each_type_is_edited_validated_saved_and_applied(user_file: Path) -> None:
    app = app_for(load_settings())
    async with app.run_test(size=(80, 24)) as pilot:
        await open_settings(pilot)

        # int with a range: a rejected value shows loading's message and writes nothing
        dialog = await edit(pilot, "generation.max_new_tokens")
        dialog.query_one(Input).value = "0"
        error = await save(pilot)
        assert "generation.max_new_tokens" in error and "greater than or equal to 1" in error
        assert str(user_file) in error
        assert not user_file.exists()
        dialog.query_one(Input).value = "seven"
        assert "expected an integer" in await save(pilot)
        dialog.query_one(Input).value = "512"
        assert await save(pilot) == ""
        assert saved(user_file) == {"generation": {"max_new_tokens": 512}}
        assert app.settings.generation.max_new_tokens == 512  # applied live
        assert app.settings.origin("generation.max_new_tokens").layer is Layer.USER

        # float
        dialog = await edit(pilot, "generation.top_p")
        dialog.query_one(Input).value = "1.5"
        assert "less than or equal to 1" in await save(pilot)
        dialog.query_one(Input).value = "0.9"
        assert await save(pilot) == ""
        assert saved(user_file)["generation"]["top_p"] == 0.9

        # bool
        dialog = await edit(pilot, "ingest.include_hidden")
        dialog.query_one(Switch).value = True
        assert await save(pilot) == ""
        assert saved(user_file)["ingest"] == {"include_hidden": True}

        # choice
        dialog = await edit(pilot, "qa.search")
        dialog.query_one(Select).value = "vector"
        assert await save(pilot) == ""
        assert app.settings.qa.search == "vector"
        assert any(
            "qa.search" in n.message and "applied now" in n.message for n in app._notifications
        )

        # a setting that cannot apply live says so
        dialog = await edit(pilot, "data_dir")
        dialog.query_one(Input).value = str(user_file.parent / "data")
        assert await save(pilot) == ""
        assert any("needs a restart" in n.message for n in app._notifications)

        # string, with hostile text kept as typed
        dialog = await edit(pilot, "generation.system_prompt")
        dialog.query_one(Input).value = "Be [bold]brief[/bold]."
        assert await save(pilot) == ""
        assert saved(user_file)["generation"]["system_prompt"] == "Be [bold]brief[/bold]."

        # list: one item per line
        dialog = await edit(pilot, "generation.stop")
        dialog.query_one(TextArea).text = "###\nEND\n"
        assert await save(pilot) == ""
        assert app.settings.generation.stop == ("###", "END")

        # optional int: empty = unset
        dialog = await edit(pilot, "generation.seed")
        dialog.query_one(Input).value = "42"
        assert await save(pilot) == ""
        assert saved(user_file)["generation"]["seed"] == 42
        dialog = await edit(pilot, "generation.seed")
        dialog.query_one(Input).value = ""
        assert await save(pilot) == ""
        assert "seed" not in saved(user_file)["generation"]

        # the sidebar follows a ui change at once
        dialog = await edit(pilot, "ui.sidebar")
        dialog.query_one(Select).value = "hide"
        assert await save(pilot) == ""
        assert app.settings.ui.sidebar == "hide"

        # Esc leaves everything as it was
        before = user_file.read_text()
        dialog = await edit(pilot, "qa.rrf_k")
        dialog.query_one(Input).value = "5"
        await pilot.press("escape")
        await pilot.pause()
        assert user_file.read_text() == before

        # reset to the default: out of the user config, the default shows again
        await highlight(pilot, "key:generation.max_new_tokens")
        await pilot.press("r")
        await pilot.pause()
        assert "max_new_tokens" not in saved(user_file)["generation"]
        assert app.settings.generation.max_new_tokens == 256
        assert "value: 256" in detail(pilot) and "from: default" in detail(pilot)

    # what was saved is what the next start loads
    again = load_settings()
    assert again.generation.top_p == 0.9 and again.qa.search == "vector"
    assert again.generation.stop == ("###", "END")


async def test_the_palette_theme_is_saved_and_survives_a_restart(user_file: Path) -> None:
    user_file.parent.mkdir()
    user_file.write_text("# mine\n[ui]\nsidebar = 'hide'  # keep\n")
    app = app_for(load_settings())
    async with app.run_test(size=(80, 24)) as pilot:
        # the command palette's theme list (Ctrl+P, "Theme")
        app.action_change_theme()
        await pilot.pause()
        await pilot.press(*"nord")
        hits = app.screen.query_one(OptionList)
        for _ in range(100):  # the palette searches in a worker
            if hits.option_count:
                break
            await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert app.theme == "nord"
        assert app.settings.ui.theme == "nord"
    assert saved(user_file)["ui"] == {"sidebar": "hide", "theme": "nord"}
    assert user_file.read_text().startswith("# mine\n[ui]\nsidebar = 'hide'  # keep\n")

    restarted = app_for(load_settings())
    async with restarted.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert restarted.theme == "nord"
        await open_settings(pilot)
        await highlight(pilot, "key:ui.theme")
        assert 'value: "nord"' in detail(pilot) and "from: user" in detail(pilot)


async def test_a_theme_from_the_environment_is_used_but_not_saved(
    user_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("H2OTUI_UI__THEME", "gruvbox")
    app = app_for(load_settings())
    async with app.run_test(size=(80, 24)) as pilot:
        app.theme = "nord"
        await pilot.pause()
        assert app.settings.ui.theme == "nord"
        assert any("H2OTUI_UI__THEME" in str(n.message) for n in app._notifications)
    assert not user_file.exists()


@pytest.mark.parametrize("size", [(30, 8)])
async def test_tiny_terminals_and_resizes_keep_it_usable(user_file: Path, size) -> None:  # type: ignore[no-untyped-def]
    app = app_for(load_settings())
    async with app.run_test(size=size) as pilot:
        await open_settings(pilot)
        dialog = await edit(pilot, "qa.top_k_docs")
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        dialog.query_one(Input).value = "4"
        await pilot.resize_terminal(*size)
        assert await save(pilot) == ""
        assert saved(user_file) == {"qa": {"top_k_docs": 4}}


# --- models -------------------------------------------------------------------------------

KEY = "sk-settings-7f3a9c21e5"
WRONG_KEY = "sk-wrong-0b8d4e6a12"
PASSWORD = "pw-basic-5c2e8f1a9d"


@pytest.fixture(scope="module")
def llama(shared_models_dir: Path):  # type: ignore[no-untyped-def]
    from tests.servers.llama_server import LlamaServer, embedded_model_path

    server = LlamaServer(embedded_model_path(shared_models_dir), api_key=KEY, n_ctx=512).start()
    yield server
    server.stop()


async def type_into(pilot, widget_id: str, text: str) -> None:  # type: ignore[no-untyped-def]
    """Fill an input; secrets are typed key by key, as a person does (each keystroke is
    rendered, and every capture is scanned)."""
    widget = pilot.app.screen.query_one(f"#{widget_id}", Input)
    widget.value = ""
    widget.focus()
    await pilot.pause()
    if widget.password:
        await pilot.press(*text)
    else:
        widget.value = text


async def test_add_a_server_model_test_it_and_no_secret_is_ever_shown(
    user_file: Path, llama
) -> None:  # type: ignore[no-untyped-def]
    from h2otui.screens.model_edit import ModelEditScreen

    app = app_for(load_settings())
    captures: list[str] = []
    host = llama.url.removeprefix("http://")
    async with app.run_test(size=(100, 30)) as pilot:

        async def capture() -> None:
            await pilot.pause()
            captures.append(app.export_screenshot())

        await open_settings(pilot)
        await pilot.press("a")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ModelEditScreen)
        await type_into(pilot, "name", "served")
        await type_into(pilot, "location", f"vllm_chat:{host}")
        await type_into(pilot, "api-key", WRONG_KEY)
        await capture()

        # "Test" runs `models --check` on the model as typed, before anything is saved
        await pilot.press("ctrl+t")
        await app.workers.wait_for_complete()
        await capture()
        result = str(dialog.query_one("#result", Static).render())
        assert result.startswith("FAILED") and ("401" in result or "credential" in result.lower())
        assert not user_file.exists()

        await type_into(pilot, "api-key", KEY)
        await pilot.press("ctrl+t")
        await app.workers.wait_for_complete()
        await capture()
        result = str(dialog.query_one("#result", Static).render())
        assert result.startswith("ok") and "gemma3-270m" in result and " ms" in result

        await pilot.press("ctrl+s")
        await capture()
        assert isinstance(app.screen, SettingsScreen)
        entry = saved(user_file)["models"][0]
        assert entry == {
            "name": "served",
            "inference_server": f"vllm_chat:{host}",
            "options": {"api_key": KEY},
        }
        assert oct(user_file.stat().st_mode & 0o777) == "0o600"
        assert app.settings.model_origin("served").layer is Layer.USER

        # reopened: the key is not shown, and left empty it is kept
        await highlight(pilot, "model:served")
        await capture()
        await pilot.press("enter")
        await capture()
        dialog = app.screen
        assert isinstance(dialog, ModelEditScreen)
        assert dialog.query_one("#api-key", Input).value == ""
        await pilot.press("ctrl+t")
        await app.workers.wait_for_complete()
        await capture()
        assert str(dialog.query_one("#result", Static).render()).startswith("ok")

        # basic auth: the password goes into the server string in the 0600 file only
        await type_into(pilot, "location", "http://127.0.0.1:9")
        await type_into(pilot, "user", "alice")
        await type_into(pilot, "password", PASSWORD)
        await capture()
        await pilot.press("ctrl+s")
        await capture()
        entry = saved(user_file)["models"][0]
        assert entry["inference_server"] == f"http://127.0.0.1:9    alice    {PASSWORD}"
        await highlight(pilot, "model:served")
        await capture()
        assert "alice" in detail(pilot)

        # the built-in model is read-only, with the reason
        await highlight(pilot, "model:gemma3-270m")
        await pilot.press("enter")
        await capture()
        assert "read-only: built in" in str(app.screen.query_one("#read-only").render())
        await pilot.press("escape")

        # remove the user's model
        await highlight(pilot, "model:served")
        await pilot.press("enter")
        await pilot.pause()
        await pilot.click("#remove")
        await capture()
        assert "models" not in saved(user_file)
        assert [m.name for m in app.settings.models] == ["gemma3-270m"]

    assert len(captures) >= 12
    for svg in captures:
        for secret in (KEY, WRONG_KEY, PASSWORD):
            assert secret not in svg


async def test_hostile_values_and_model_names_are_shown_literally(user_file: Path) -> None:
    from hostile import HOSTILE_TEXT, MARKUP, assert_literal, assert_terminal_safe
    from tomlkit import dumps

    user_file.parent.mkdir()
    user_file.write_text(
        dumps(
            {
                "generation": {"system_prompt": HOSTILE_TEXT},
                "models": [{"name": MARKUP[0] + "\x1b]0;t\x07", "model_path": f"/x/{MARKUP[1]}"}],
            }
        )
    )
    app = app_for(load_settings())
    async with app.run_test(size=(100, 30)) as pilot:
        await open_settings(pilot)
        option_list = pilot.app.screen.query_one("#settings-list", OptionList)
        listed = "\n".join(
            str(option_list.get_option_at_index(i).prompt) for i in range(option_list.option_count)
        )
        assert_terminal_safe(listed, "settings list")
        assert_literal(listed, MARKUP[:2], "settings list")
        await highlight(pilot, "key:generation.system_prompt")
        assert_terminal_safe(detail(pilot), "detail")
        assert_literal(detail(pilot), MARKUP, "detail")
        await highlight(pilot, f"model:{MARKUP[0]}\x1b]0;t\x07")
        assert_terminal_safe(detail(pilot), "model detail")
        assert "missing" in detail(pilot)
        await pilot.press("enter")
        await pilot.pause()
        assert_terminal_safe(str(pilot.app.screen.query_one("#title").render()), "dialog")
        dialog = pilot.app.screen
        assert "control characters" in str(dialog.query_one("#read-only").render())
        for widget in dialog.query(Input):
            assert_terminal_safe(widget.value, "model dialog input")
        await pilot.press("escape")
        await pilot.pause()

        # a hostile string setting: shown made visible, saved unchanged when not edited
        before = user_file.read_text()
        dialog = await edit(pilot, "generation.system_prompt")
        assert_terminal_safe(dialog.query_one(Input).value, "editor")
        assert await save(pilot) == ""
        assert user_file.read_text() == before


async def test_a_gguf_picked_from_the_disk_is_added(user_file: Path, tmp_path: Path) -> None:
    from textual.widgets import DirectoryTree

    from h2otui.screens.file_picker import FilePickerScreen
    from h2otui.screens.model_edit import ModelEditScreen

    models = tmp_path / "models"
    (models / "sub").mkdir(parents=True)
    (models / "tiny.gguf").write_bytes(b"GGUF")
    (models / "[bold]odd.gguf").write_bytes(b"GGUF")
    (models / "notes.txt").write_text("not a model")
    app = app_for(load_settings())
    async with app.run_test(size=(80, 24)) as pilot:
        await open_settings(pilot)
        await pilot.press("a")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ModelEditScreen)
        dialog.query_one("#location", Input).value = str(models)
        await pilot.press("ctrl+o")
        await pilot.pause()
        picker = app.screen
        assert isinstance(picker, FilePickerScreen)
        tree = picker.query_one(DirectoryTree)
        for _ in range(100):  # the tree lists the folder in a worker
            if tree.root.children:
                break
            await pilot.pause()
        labels = [str(node.label) for node in tree.root.children]
        assert labels == ["sub", "[bold]odd.gguf", "tiny.gguf"]  # literal, no .txt
        node = next(n for n in tree.root.children if str(n.label) == "tiny.gguf")
        tree.move_cursor(node)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is dialog
        assert dialog.query_one("#location", Input).value == str(models / "tiny.gguf")
        assert dialog.query_one("#name", Input).value == "tiny"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert saved(user_file)["models"] == [
            {"name": "tiny", "model_path": str(models / "tiny.gguf"), "engine": "llamacpp"}
        ]
        assert app.settings.model("tiny").resolved_engine() == "llamacpp"

        # a model directory: Test says when it is not a checkpoint
        await pilot.press("a")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ModelEditScreen)
        dialog.query_one("#name", Input).value = "hf"
        dialog.query_one("#kind", Select).value = "dir"
        dialog.query_one("#location", Input).value = str(models / "nowhere")
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert "is not a directory" in str(dialog.query_one("#result", Static).render())
        dialog.query_one("#location", Input).value = str(models / "sub")
        await pilot.press("ctrl+t")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "has no config.json" in str(dialog.query_one("#result", Static).render())
