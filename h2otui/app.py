"""The Textual app: ``make_app(settings)`` builds it for the CLI and the tests alike.

The app owns the long-lived services -- settings, the chat history store and the pool of
engines -- and the navigation between top-level screens (Textual *modes*, listed in
:data:`h2otui.screens.NAVIGATION`). Screens reach the services through ``self.app``.

Settings change through one path, :meth:`H2oTuiApp.apply_settings`: the app swaps its
immutable :class:`~h2otui.config.Settings` value, the engine pool drops what the change
made stale, app-level settings (theme, chat history) are re-applied, and every screen
gets one :class:`~h2otui.messages.SettingsChanged` to re-read what it shows.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from h2otui import privacy
from h2otui.engines.pool import EngineFactory, EnginePool
from h2otui.messages import SettingsChanged
from h2otui.screens import NAVIGATION
from h2otui.widgets.gc_pause import freeze_startup_objects
from h2otui.widgets.textual_compat import every_screen

if TYPE_CHECKING:
    from h2otui.config import Settings
    from h2otui.ingest.background import IngestQueue
    from h2otui.store.chats import ChatStore


def _lazy_screen(target: str) -> Callable[[], Screen[Any]]:
    def build() -> Screen[Any]:
        module_name, _, cls_name = target.partition(":")
        cls: type[Screen[Any]] = getattr(importlib.import_module(module_name), cls_name)
        return cls()

    return build


class H2oTuiApp(App[int]):
    """Chat (and later compare, collections, settings) in the terminal."""

    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "h2otui"
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        entry.mode: _lazy_screen(entry.target) for entry in NAVIGATION
    }
    DEFAULT_MODE: ClassVar[str] = NAVIGATION[0].mode
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(entry.key, f"switch_mode('{entry.mode}')", entry.title, show=False)
        for entry in NAVIGATION
    ]

    def __init__(
        self,
        settings: Settings,
        *,
        engine_factory: EngineFactory | None = None,
        store: ChatStore | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.engines = EnginePool(settings, engine_factory)
        self.store_error: str | None = None
        self.store = store if store is not None else self._open_store()
        #: stores replaced by a settings change; sessions may still write to them
        self._retired_stores: list[ChatStore] = []
        self._ingests: IngestQueue | None = None
        if not self._apply_theme(settings.ui.theme):
            self._bad_theme = settings.ui.theme

    _bad_theme: str | None = None

    def _apply_theme(self, theme: str) -> bool:
        if theme not in self.available_themes:
            return False
        self.theme = theme
        return True

    def _theme_warning(self, theme: str) -> None:
        themes = ", ".join(sorted(self.available_themes))
        self.notify(
            f"ui.theme = '{theme}' is not a known theme ({themes})",
            title="Settings",
            severity="warning",
            timeout=15,
        )

    def _open_store(self) -> ChatStore | None:
        if not self.settings.ui.save_chats:
            return None
        from h2otui.store.chats import ChatStore, ChatStoreError

        try:
            return ChatStore.open(self.settings.data_path)
        except ChatStoreError as exc:
            self.store_error = str(exc)
            return None

    def on_mount(self) -> None:
        # once the first screen is up, what exists now lives as long as the app; a
        # moment after the first refresh, as the collection (~0.1 s) held the frame back
        self.call_after_refresh(self.set_timer, 0.5, freeze_startup_objects)
        if privacy.TIGHTENED:  # an older install's data dir was made owner-only on start
            self.notify(privacy.describe(privacy.TIGHTENED), title="Privacy", timeout=15)
        if self.store_error:
            self.notify(
                f"{self.store_error}\nChats will not be saved this session.",
                title="Chat history unavailable",
                severity="error",
                timeout=15,
            )
        if self._bad_theme:
            self._theme_warning(self._bad_theme)
        self.theme_changed_signal.subscribe(self, self._save_theme)
        self._resume_ingests()

    @property
    def ingests(self) -> IngestQueue:
        """Background ingest: the collections screen queues jobs; they outlive it."""
        if self._ingests is None:
            from h2otui.ingest.background import IngestQueue

            self._ingests = IngestQueue(self.settings.data_path, lambda: self.settings)
            self.set_interval(0.5, self._show_ingest_badge)
            # another h2otui on this data dir: take on the jobs it queues, or show its own
            self.set_interval(1.0, self._ingests.sync)
        return self._ingests

    def _show_ingest_badge(self) -> None:
        """While an ingest runs, a line above the footer of every screen says so (the
        collections screen has its own)."""
        from textual.widgets import Static

        from h2otui.screens.collections import CollectionsScreen, describe_job

        screen = self.screen
        job = next((j for j in self.ingests.snapshot() if j.state == "running"), None)
        badges = list(screen.query(".ingest-badge"))
        if job is None or screen.is_modal or isinstance(screen, CollectionsScreen):
            for badge in badges:
                badge.remove()
            return
        text = describe_job(job)
        text.append("  (F4 shows it)")
        if badges:
            cast("Static", badges[0]).update(text)
        else:
            screen.mount(Static(text, classes="ingest-badge"))

    def _resume_ingests(self) -> None:
        """Finish the ingest a previous run left queued (quit or crash mid-ingest)."""
        if not (self.settings.data_path / "ingest-queue.json").exists():  # QUEUE_FILE
            return
        resumed = self.ingests.resume_saved()
        if resumed:
            names = ", ".join(sorted({j.collection for j in resumed}))
            self.notify(
                f"Resuming the ingest into {names} left unfinished last time (F4 shows it).",
                title="Ingest",
                markup=False,
                timeout=8,
            )

    async def on_unmount(self) -> None:
        if self._ingests is not None:  # a running job stays queued: the next start resumes it
            self._ingests.shutdown()
        await self.engines.aclose()
        for store in [*self._retired_stores, self.store]:
            if store is not None:
                store.close()

    # --- settings changes -----------------------------------------------------------------

    def apply_settings(self, new: Settings) -> None:
        """Make ``new`` the app's settings: the one way settings change while it runs.

        In order: the app and the engine pool switch to ``new`` (the pool drops the
        engines built from a changed model entry, data dir or ``[remote]``; they are closed
        in the background, after any answer still streaming from them); the theme and the
        chat history follow ``ui``; then every screen -- of every mode, and installed ones
        -- gets :class:`~h2otui.messages.SettingsChanged`. ``new`` comes from
        :meth:`Settings.with_changes`, which has already validated it."""
        old = self.settings
        if new is old:
            return
        self.settings = new
        if self.engines.apply_settings(new):
            self.run_worker(
                self.engines.close_retired(),
                name="close stale engines",
                group="engines",
                exit_on_error=False,
            )
        if new.ui.theme != old.ui.theme and not self._apply_theme(new.ui.theme):
            self._theme_warning(new.ui.theme)
        if (new.ui.save_chats, new.data_path) != (old.ui.save_chats, old.data_path):
            self._reopen_store()
        message_for = {id(screen): screen for screen in every_screen(self)}
        for screen in message_for.values():
            screen.post_message(SettingsChanged(old, new))

    def _save_theme(self, theme: object) -> None:
        """A theme picked in the command palette is written to the user config (the
        settings screen's writer), so the next start opens with it."""
        name = getattr(theme, "name", None)
        if not isinstance(name, str) or name == self.settings.ui.theme:
            return  # set from the settings themselves
        from h2otui.config import ConfigError, Layer
        from h2otui.safe_text import visible

        origin = self.settings.origin("ui.theme")
        if origin.layer in (Layer.ENV, Layer.FLAG):
            self.apply_settings(self.settings.replace("ui.theme", name))
            self.notify(
                visible(f"Theme not saved: ui.theme is set by {origin.source}."),
                title="Settings",
                severity="warning",
            )
            return
        from h2otui.user_config import UserConfig

        try:
            self.apply_settings(UserConfig().set("ui.theme", name, base=self.settings))
        except (ConfigError, OSError) as exc:
            self.notify(visible(f"Theme not saved: {exc}"), title="Settings", severity="error")

    def _reopen_store(self) -> None:
        # the old store stays open until exit: a session in progress may still hold it
        if self.store is not None:
            self._retired_stores.append(self.store)
        self.store_error = None
        self.store = self._open_store()
        if self.store_error:
            self.notify(
                f"{self.store_error}\nChats will not be saved.",
                title="Chat history unavailable",
                severity="error",
                timeout=15,
            )

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for entry in NAVIGATION:
            if entry.mode != self.current_mode:
                yield SystemCommand(
                    f"Go to {entry.title}", entry.help, lambda m=entry.mode: self.switch_mode(m)
                )
        commands = getattr(screen, "palette_commands", None)
        if callable(commands):
            for title, help_text, callback in commands():
                yield SystemCommand(title, help_text, callback)


def make_app(
    settings: Settings,
    *,
    engine_factory: EngineFactory | None = None,
    store: ChatStore | None = None,
) -> H2oTuiApp:
    """The app, as the CLI runs it; tests pass a scripted ``engine_factory``."""
    return H2oTuiApp(settings, engine_factory=engine_factory, store=store)
