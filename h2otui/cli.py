"""The ``h2otui`` command line: typer wiring only; what each command does lives in
:mod:`h2otui.commands` (one module per command group).

Start-up cost matters (people run this in scripts and loops): this module imports only
typer and the standard library. Settings (pydantic), engines (llama.cpp), the TUI
(Textual) and everything else load inside the command that needs them; a test checks
``h2otui --help`` imports none of them. A bare ``h2otui`` does not even come here: the
entry point (:mod:`h2otui.entry`) opens the app itself.
"""

from __future__ import annotations

import contextlib
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from h2otui import __version__
from h2otui.commands.exit_codes import (
    EXIT_BROKEN_PIPE,
    EXIT_CODES_HELP,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from h2otui.config import Settings

app = typer.Typer(
    name="h2otui",
    help=(
        "Terminal-native chat and document QA. With no command, opens the TUI.\n\n"
        + EXIT_CODES_HELP
    ),
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    # plain help: rich-formatted help costs ~80 ms of imports on every --help and usage error
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class State:
    """Options given before the command, shared with every command."""

    def __init__(self) -> None:
        self.config: Path | None = None
        self.model_lock: str | None = None
        self._settings: Settings | None = None

    def settings(self, overrides: dict[str, Any] | None = None) -> Settings:
        from h2otui.commands.launch import load_app_settings

        return load_app_settings(self.config, self.model_lock, overrides)


def _state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    if not isinstance(obj, State):
        obj = State()
        ctx.find_root().obj = obj
    return obj


def _generation_flags(
    max_new_tokens: int | None = None, temperature: float | None = None, seed: int | None = None
) -> dict[str, Any]:
    """The flags' layer of ``[generation]``: a temperature above 0 turns sampling on."""
    from h2otui.sampling import samples

    gen: dict[str, Any] = {}
    if max_new_tokens is not None:
        gen["max_new_tokens"] = max_new_tokens
    if temperature is not None:
        gen["temperature"] = temperature
        gen["do_sample"] = samples(temperature)
    if seed is not None:
        gen["seed"] = seed
    return {"generation": gen} if gen else {}


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    from h2otui.safe_text import visible

    # errors carry server text, file names and model ids: never raw on the terminal
    typer.echo(visible(f"error: {message}"), err=True)
    raise typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors users can act on into one readable line and an exit code."""
    from h2otui.config import ConfigError
    from h2otui.engines.base import EngineConfigError, EngineError

    try:
        yield
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    except EngineConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    except EngineError as exc:
        fail(str(exc), EXIT_ERROR)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"h2otui {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", help="Settings file (instead of ./config.toml).", show_default=False
        ),
    ] = None,
    model_lock: Annotated[
        str | None,
        typer.Option(
            "--model-lock",
            help="h2oGPT-style list of model dicts, e.g. \"[{'inference_server': 'http://h:8080', 'base_model': 'x'}]\".",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    state = _state(ctx)
    state.config = config
    state.model_lock = model_lock
    if ctx.invoked_subcommand is None:
        with user_errors():
            settings = state.settings()
            from h2otui.commands.launch import launch

            raise typer.Exit(launch(settings))


@app.command()
def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="The question; '-' reads it from stdin.")],
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Configured model name.")
    ] = None,
    system: Annotated[
        str | None,
        typer.Option("--system", help="System prompt ('' for none; default: the model's)."),
    ] = None,
    max_new_tokens: Annotated[
        int | None, typer.Option("--max-new-tokens", min=1, help="Most tokens to generate.")
    ] = None,
    temperature: Annotated[
        float | None,
        typer.Option("--temperature", min=0.0, help="Sampling temperature; 0 = greedy."),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed for sampling.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of streaming text.")
    ] = False,
    collection: Annotated[
        str | None,
        typer.Option("--collection", "-c", help="Answer from this document collection."),
    ] = None,
    top_k: Annotated[
        int | None,
        typer.Option("--top-k", help="Chunks put into the prompt; -1 = fill the context."),
    ] = None,
    action: Annotated[
        str, typer.Option("--action", help="With --collection: query, summarize or extract.")
    ] = "query",
    doc: Annotated[
        list[str] | None,
        typer.Option("--doc", help="Only this document (path); repeatable.", show_default=False),
    ] = None,
    search: Annotated[
        str | None, typer.Option("--search", help="Retrieval: hybrid, vector or text.")
    ] = None,
    show_sources: Annotated[
        bool, typer.Option("--show-sources", help="Print the sources with their quoted text.")
    ] = False,
) -> None:
    """Ask a model a question; the answer streams to stdout.

    With --collection the answer comes from your documents, with numbered sources."""
    if question == "-":
        question = sys.stdin.read().strip()
    if collection is None and (top_k is not None or doc or search or action != "query"):
        fail("--top-k, --action, --doc and --search need --collection NAME", EXIT_USAGE)
    if not question.strip() and not (collection and action in ("summarize", "extract")):
        fail("the question is empty", EXIT_USAGE)
    overrides = _generation_flags(max_new_tokens, temperature, seed)
    with user_errors():
        settings = _state(ctx).settings(overrides)
        if collection is not None:
            from h2otui.commands.ask import run_ask_collection

            code = run_ask_collection(
                settings,
                question,
                collection=collection,
                model=model,
                system=system,
                action=action,
                top_k=top_k,
                docs=doc or [],
                search=search,
                show_sources=show_sources,
                as_json=as_json,
                exit_process=True,
            )
            raise typer.Exit(code)
        from h2otui.commands.ask import run_ask

        code = run_ask(settings, question, model=model, system=system, as_json=as_json)
    raise typer.Exit(code)


@app.command()
def compare(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="The question; '-' reads it from stdin.")],
    models_: Annotated[
        str, typer.Option("--models", help="2 to 4 configured models, comma-separated.")
    ],
    collection: Annotated[
        str | None,
        typer.Option("--collection", "-c", help="Answer from this collection (retrieved once)."),
    ] = None,
    action: Annotated[
        str, typer.Option("--action", help="With --collection: query, summarize or extract.")
    ] = "query",
    doc: Annotated[
        list[str] | None,
        typer.Option("--doc", help="Only this document (path); repeatable.", show_default=False),
    ] = None,
    max_new_tokens: Annotated[
        int | None, typer.Option("--max-new-tokens", min=1, help="Most tokens per answer.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object: an entry per model, usage, timings.")
    ] = False,
) -> None:
    """Several models answer one question: the answers one after another, or --json.

    Models on a server answer at once; in-process models take turns
    (compare.local_concurrency). With --collection every model gets the same sources."""
    if question == "-":
        question = sys.stdin.read().strip()
    if collection is None and (doc or action != "query"):
        fail("--action and --doc need --collection NAME", EXIT_USAGE)
    if not question.strip() and not (collection and action in ("summarize", "extract")):
        fail("the question is empty", EXIT_USAGE)
    with user_errors():
        settings = _state(ctx).settings(_generation_flags(max_new_tokens))
        from h2otui.commands.compare import parse_models, run_compare

        code = run_compare(
            settings,
            question,
            models=parse_models(models_),
            collection=collection,
            action=action,
            docs=doc or [],
            as_json=as_json,
        )
    raise typer.Exit(code)


@app.command()
def models(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Contact every endpoint: reachable, latency, served model, context limits "
            "(exit 1 if any is unreachable).",
        ),
    ] = False,
    prompt_types: Annotated[
        bool,
        typer.Option(
            "--prompt-types",
            help="List every prompt_type (h2oGPT's names) with how it renders and the "
            "base models that pick it.",
        ),
    ] = False,
) -> None:
    """List the configured models with their engine, location and status."""
    if prompt_types:
        from h2otui.commands.models import run_prompt_types

        raise typer.Exit(run_prompt_types(as_json=as_json))
    with user_errors():
        settings = _state(ctx).settings()
        from h2otui.commands.models import run_check, run_models

        run = run_check if check else run_models
        raise typer.Exit(run(settings, as_json=as_json))


# --- chats ---------------------------------------------------------------------------

chats_app = typer.Typer(help="The saved chats of the TUI (list, export).", no_args_is_help=True)
app.add_typer(chats_app, name="chats")


@contextmanager
def _chat_errors() -> Iterator[None]:
    from h2otui.store.chats import ChatNotFoundError, ChatStoreError

    with user_errors():
        try:
            yield
        except ChatNotFoundError as exc:
            fail(str(exc), EXIT_USAGE)
        except ChatStoreError as exc:
            fail(str(exc), EXIT_ERROR)


@chats_app.command("list")
def chats_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List saved chats, most recent first."""
    with _chat_errors():
        from h2otui.commands.chats import list_chats

        raise typer.Exit(list_chats(_state(ctx).settings(), as_json=as_json))


@chats_app.command("export")
def chats_export(
    ctx: typer.Context,
    chat_id: Annotated[int, typer.Argument(help="Chat id (see `h2otui chats list`).")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="md or json.")] = "md",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write to FILE instead of stdout.")
    ] = None,
) -> None:
    """Export one chat as Markdown or JSON."""
    from h2otui.commands.chats import EXPORT_FORMATS, export_chat

    if fmt not in EXPORT_FORMATS:
        fail(f"--format must be one of {', '.join(EXPORT_FORMATS)} (got '{fmt}')", EXIT_USAGE)
    with _chat_errors():
        raise typer.Exit(export_chat(_state(ctx).settings(), chat_id, fmt, out))


@app.command()
def chat(
    ctx: typer.Context,
    plain: Annotated[
        bool, typer.Option("--plain", help="Line-mode chat in the terminal, no full-screen app.")
    ] = False,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Configured model name.")
    ] = None,
    collection: Annotated[
        str | None,
        typer.Option("--collection", "-c", help="With --plain: answer from this collection."),
    ] = None,
    action: Annotated[
        str,
        typer.Option("--action", help="With --collection: query, summarize or extract."),
    ] = "query",
    system: Annotated[
        str | None,
        typer.Option("--system", help="System prompt ('' for none; default: the model's)."),
    ] = None,
    temperature: Annotated[
        float | None,
        typer.Option("--temperature", min=0.0, help="Sampling temperature; 0 = greedy."),
    ] = None,
    max_new_tokens: Annotated[
        int | None, typer.Option("--max-new-tokens", min=1, help="Most tokens per answer.")
    ] = None,
) -> None:
    """Chat with a model: the full-screen app, or a line-mode loop with --plain.

    --plain keys: Ctrl-C stops an answer (the partial answer is kept); at the prompt,
    Ctrl-D, Ctrl-C, /quit or /exit quits (exit 0); an empty line is ignored. Ctrl-C while
    the model loads exits 130. The chat is saved like the app's (ui.save_chats; see `h2otui chats`)."""
    line_mode_only = collection is not None or system is not None or action != "query"
    line_mode_only = line_mode_only or temperature is not None or max_new_tokens is not None
    if line_mode_only and not plain:
        fail(
            "--collection, --action, --system, --temperature and --max-new-tokens need --plain "
            "(in the app: Ctrl+O for options, Ctrl+G for documents)",
            EXIT_USAGE,
        )
    if collection is None and action != "query":
        fail("--action needs --collection NAME", EXIT_USAGE)
    overrides = {"default_model": model, **_generation_flags(max_new_tokens, temperature)}
    with user_errors():
        settings = _state(ctx).settings(overrides)
        settings.model()  # an unknown --model is a usage error before anything starts
        if plain:
            from h2otui.commands.chat import run_repl

            raise typer.Exit(
                run_repl(settings, system=system, collection=collection, action=action)
            )
        from h2otui.commands.launch import launch

        raise typer.Exit(launch(settings))


# --- arena ---------------------------------------------------------------------------

arena_app = typer.Typer(
    help="The compare screen's blind arena (leaderboard).", no_args_is_help=True
)
app.add_typer(arena_app, name="arena")


@arena_app.command("leaderboard")
def arena_leaderboard(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Models ranked by the arena's votes: rating, 95% interval, vote counts."""
    from h2otui.store.arena import ArenaStoreError

    with user_errors():
        settings = _state(ctx).settings()
        from h2otui.commands.arena import run_leaderboard

        try:
            code = run_leaderboard(settings, as_json=as_json)
        except ArenaStoreError as exc:
            fail(str(exc), EXIT_ERROR)
    raise typer.Exit(code)


# --- ingestion and collections ---------------------------------------------------------


@contextmanager
def _ingest_errors() -> Iterator[None]:
    from h2otui.ingest.base import IngestError, ModelUnavailableError
    from h2otui.store.collections import StoreError

    with user_errors():
        try:
            yield
        except (StoreError, ModelUnavailableError) as exc:  # a setting or a flag to change
            fail(str(exc), EXIT_USAGE)
        except IngestError as exc:
            fail(str(exc), EXIT_ERROR)
        except KeyboardInterrupt:
            typer.echo("interrupted: files already written are kept; run again to finish", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None


@app.command()
def ingest(
    ctx: typer.Context,
    paths: Annotated[list[str], typer.Argument(help="Files, folders (recursive) or globs.")],
    collection: Annotated[
        str, typer.Option("--collection", "-c", help="Collection to add to.")
    ] = "UserData",
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="Glob of paths to leave out (repeatable).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, help="Parser processes (default: min(2, CPUs))."),
    ] = None,
    sync: Annotated[
        bool, typer.Option("--sync", help="Also remove documents whose files are gone.")
    ] = False,
    reembed: Annotated[
        bool,
        typer.Option(
            "--reembed", help="Re-embed the collection with the configured embedding model."
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Re-parse files even if unchanged.")
    ] = False,
    embedding_model: Annotated[
        str | None,
        typer.Option(
            "--embedding-model",
            help="Embedding model (embedding.model): the embedded all-MiniLM-L6-v2 or a local dir.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    ray: Annotated[
        bool,
        typer.Option(
            "--ray", help="Parse and embed on Ray Data (a local Ray). Needs the [scale] extra."
        ),
    ] = False,
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address",
            metavar="ADDRESS",
            help="Run --ray on a cluster: auto (the one this node is in) or ray://HEAD:10001.",
        ),
    ] = None,
) -> None:
    """Add documents (PDF, images, audio, video, text, HTML, docx) to a collection.

    Exit code 0 when every file was ingested (or unchanged), 3 when some failed (the
    summary lists each with its reason). Unsupported files are listed as skipped."""
    with _ingest_errors():
        overrides = {"embedding": {"model": embedding_model}} if embedding_model else None
        settings = _state(ctx).settings(overrides)
        from h2otui.commands.ingest import run_ingest_command

        code = run_ingest_command(
            settings,
            paths,
            collection,
            exclude=exclude or [],
            workers=workers,
            sync=sync,
            reembed=reembed,
            force=force,
            as_json=as_json,
            ray=ray_address or ("local" if ray else None),
        )
    raise typer.Exit(code)


collections_app = typer.Typer(
    help="Document collections (list, show, delete, remove-doc).", no_args_is_help=True
)
app.add_typer(collections_app, name="collections")


@collections_app.command("list")
def collections_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Collections with their document and chunk counts, size and embedding model."""
    with _ingest_errors():
        from h2otui.commands.collections import list_collections as run

        raise typer.Exit(run(_state(ctx).settings(), as_json))


@collections_app.command("show")
def collections_show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Collection name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Documents of a collection: status, chunk count, parser, error."""
    with _ingest_errors():
        from h2otui.commands.collections import show_collection as run

        raise typer.Exit(run(_state(ctx).settings(), name, as_json))


@collections_app.command("delete")
def collections_delete(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Collection name.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a collection and everything in it."""
    with _ingest_errors():
        from h2otui.commands.collections import delete_collection as run

        raise typer.Exit(run(_state(ctx).settings(), name, yes))


@collections_app.command("remove-doc")
def collections_remove_doc(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Collection name.")],
    path: Annotated[str, typer.Argument(help="Path of the document's file.")],
) -> None:
    """Remove one document (its chunks and parts) from a collection."""
    with _ingest_errors():
        from h2otui.commands.collections import remove_document as run

        raise typer.Exit(run(_state(ctx).settings(), name, path))


# --- config ------------------------------------------------------------------------------

config_app = typer.Typer(
    help="Settings: show them with where each comes from; change the user config file.",
    no_args_is_help=True,
)
app.add_typer(config_app, name="config")


@config_app.command("show")
def config_show(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every effective setting with its layer and source (secrets masked), and the models."""
    with user_errors():
        from h2otui.commands.config import run_show

        raise typer.Exit(run_show(_state(ctx).settings(), as_json=as_json))


@config_app.command("set")
def config_set(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Dotted setting, e.g. generation.max_new_tokens.")],
    value: Annotated[str, typer.Argument(help='The value; lists as JSON: \'["a", "b"]\'.')],
) -> None:
    """Write one setting to the user config (validated first; comments are kept)."""
    with user_errors():
        from h2otui.commands.config import run_set

        raise typer.Exit(run_set(_state(ctx).settings(), key, value))


@config_app.command("unset")
def config_unset(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Dotted setting to remove from the user config.")],
) -> None:
    """Remove one setting from the user config (it falls back to the layers below)."""
    with user_errors():
        from h2otui.commands.config import run_unset

        raise typer.Exit(run_unset(_state(ctx).settings(), key))


@config_app.command("path")
def config_path() -> None:
    """Print where the user config file is (or would be created)."""
    from h2otui.commands.config import run_path

    raise typer.Exit(run_path())


# --- batch -------------------------------------------------------------------------------


@app.command()
def batch(
    ctx: typer.Context,
    questions: Annotated[
        Path,
        typer.Argument(
            help="Questions: .jsonl ({question, id?, collection?, action?}), .txt or .csv."
        ),
    ],
    collection: Annotated[
        str | None,
        typer.Option("--collection", "-c", help="Collection for questions that name none."),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Answers, appended as JSON lines.")
    ] = Path("answers.jsonl"),
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Configured model name.")
    ] = None,
    models_: Annotated[
        str | None,
        typer.Option(
            "--models", help="Comma-separated models: every question is answered by each."
        ),
    ] = None,
    action: Annotated[
        str, typer.Option("--action", help="Default action: query, summarize, extract.")
    ] = "query",
    top_k: Annotated[
        int | None, typer.Option("--top-k", help="Chunks per prompt; -1 = fill.")
    ] = None,
    doc: Annotated[
        list[str] | None,
        typer.Option("--doc", help="Only this document; repeatable.", show_default=False),
    ] = None,
    max_new_tokens: Annotated[
        int | None, typer.Option("--max-new-tokens", min=1, help="Most tokens per answer.")
    ] = None,
) -> None:
    """Answer a file of questions from a collection; resumable (answers already in OUT are skipped)."""
    with user_errors():
        settings = _state(ctx).settings(_generation_flags(max_new_tokens))
        from h2otui.commands.batch import run_batch

        names = (
            [m.strip() for m in models_.split(",") if m.strip()]
            if models_
            else [model]
            if model
            else []
        )
        code = run_batch(
            settings,
            questions,
            out=out,
            collection=collection,
            models=names,
            action=action,
            top_k=top_k,
            docs=doc or [],
        )
    raise typer.Exit(code)


def _private_notice(changed: list[Path]) -> None:
    from h2otui.privacy import describe

    typer.echo(f"notice: {describe(changed)}", err=True)


def main() -> None:
    import h2otui.privacy as privacy

    # owner-only files for everything this process writes (LanceDB, SQLite, exports,
    # assembled models): see h2otui.privacy for why a process-wide umask
    privacy.private_umask()
    privacy.notice_hook = _private_notice
    from h2otui.config import ConfigError

    stdout = sys.stdout
    try:
        app()
    except BrokenPipeError:
        _closed_pipe()
    except ConfigError as exc:  # a settings problem found outside user_errors()
        fail(str(exc), EXIT_USAGE)
    except SystemExit:
        # typer/click handle EPIPE themselves: they wrap stdout to silence its flush and
        # exit 1, which a script cannot tell from a real error
        if sys.stdout is not stdout:
            _closed_pipe()
        raise


def _closed_pipe() -> NoReturn:
    """The reader of our output went away (``h2otui ask ... | head -1``): stop quietly, as
    a command killed by SIGPIPE does, with its exit code (141), and without the
    traceback or "Exception ignored" message Python prints when it flushes stdout at exit."""
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    os._exit(EXIT_BROKEN_PIPE)


if __name__ == "__main__":
    main()
