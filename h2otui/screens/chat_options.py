"""The chat's model, system prompt and sampling parameters, in one dialog.

Dismisses with new :class:`~h2otui.chat.session.ChatOptions`, or ``None`` on cancel. Values
are validated by the same pydantic model the engines use; a bad value is shown next to
the buttons and the dialog stays open.

Whether the chat samples follows the temperature (:func:`h2otui.sampling.samples`, the
rule ``--temperature`` follows too): there is no separate "Sample" switch, which had to be
ticked as well -- below the fold at 80x24 -- or the temperature silently did nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, cast

from pydantic import ValidationError
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Footer, Input, Label, Select, TextArea

from h2otui.chat.session import ChatOptions
from h2otui.engines.base import SamplingParams
from h2otui.safe_text import visible
from h2otui.sampling import samples

NUMBER_FIELDS = (
    ("max_new_tokens", "Max new tokens", "integer"),
    ("temperature", "Temperature (0 = greedy)", "number"),
    ("top_p", "Top p", "number"),
    ("top_k", "Top k", "integer"),
    ("repetition_penalty", "Repetition penalty", "number"),
)


class ChatOptionsScreen(ModalScreen[ChatOptions | None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Apply"),
    ]

    def __init__(
        self,
        options: ChatOptions,
        models: list[str],
        default_system_prompt: str,
        default_note: str = "",
    ) -> None:
        super().__init__()
        self.options = options
        self.models = models
        #: what the model's default system prompt is, as text (never the word "auto");
        #: submitted unchanged it still means "the default", so it follows the model
        self.default_system_prompt = default_system_prompt
        self.default_note = default_note

    def compose(self) -> ComposeResult:
        p = self.options.params
        # the dialog's own keys: the chat's footer below it would list keys that do
        # nothing while the dialog is open
        yield Footer()
        with Vertical(id="dialog"):
            yield Label("Chat options", id="title")
            with VerticalScroll(id="fields"):
                yield Label("Model")
                yield Select(
                    [(m, m) for m in self.models],
                    value=self.options.model if self.options.model in self.models else Select.NULL,
                    allow_blank=False,
                    id="model",
                    compact=True,
                )
                yield Checkbox(
                    "Use the model's default system prompt",
                    value=self.options.system_prompt is None,
                    id="use-default",
                    compact=True,
                )
                yield Label(Text(visible(self.default_note)), id="default-note")
                yield TextArea(
                    self.options.system_prompt
                    if self.options.system_prompt is not None
                    else self.default_system_prompt,
                    id="system-prompt",
                    soft_wrap=True,
                    disabled=self.options.system_prompt is None,
                )
                with Grid(id="numbers"):
                    for name, label, _kind in NUMBER_FIELDS:
                        yield Label(label)
                        yield Input(
                            str(getattr(p, name)),
                            id=name,
                            type="integer" if _kind == "integer" else "number",
                            compact=True,
                        )
                    yield Label("Seed (empty = random)")
                    yield Input(
                        "" if p.seed is None else str(p.seed),
                        id="seed",
                        type="integer",
                        compact=True,
                    )
            yield Label("", id="error")
            with Horizontal(id="buttons"):
                yield Button("Cancel (Esc)", id="cancel", compact=True)
                yield Button("Apply (Ctrl+S)", id="apply", variant="primary", compact=True)

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        if event.checkbox.id == "use-default":
            area = self.query_one("#system-prompt", TextArea)
            area.disabled = event.value
            if event.value:
                area.text = self.default_system_prompt

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "apply":
            self.action_save()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def read_options(self) -> ChatOptions:
        """The dialog's values as ChatOptions (raises ValueError with a readable message)."""
        values: dict[str, object] = self.options.params.model_dump()
        for name, label, kind in NUMBER_FIELDS:
            raw = self.query_one(f"#{name}", Input).value.strip()
            try:
                values[name] = int(raw) if kind == "integer" else float(raw)
            except ValueError:
                raise ValueError(f"{label}: '{raw}' is not a valid {kind}") from None
        seed_raw = self.query_one("#seed", Input).value.strip()
        try:
            values["seed"] = int(seed_raw) if seed_raw else None
        except ValueError:
            raise ValueError(f"Seed: '{seed_raw}' is not an integer") from None
        values["do_sample"] = samples(cast(float, values["temperature"]))
        try:
            params = SamplingParams.model_validate(values)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(x) for x in err["loc"])
            raise ValueError(f"{field.replace('_', ' ')}: {err['msg']}") from None
        model = self.query_one("#model", Select).value
        use_default = self.query_one("#use-default", Checkbox).value
        system: str | None = self.query_one("#system-prompt", TextArea).text
        if use_default or system == self.default_system_prompt:
            system = None  # the default, text unchanged: it still follows the model
        return ChatOptions(
            str(model) if model != Select.NULL else self.options.model, system, params
        )

    def action_save(self) -> None:
        try:
            options = self.read_options()
        except ValueError as exc:
            self.query_one("#error", Label).update(Text(visible(str(exc))))
            return
        self.dismiss(options)
