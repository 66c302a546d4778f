"""The engine registry: engine name -> where its class lives, built-ins and plugins alike.

An engine is registered by :func:`register_engine` with a ``"module:Class"`` path (or the
class itself) and the package that provides it. The built-in engines are registered
below by that same call; third-party engines declare an entry point in the
``h2otui.engines`` group, exactly as h2otui declares its own in ``pyproject.toml``::

    [project.entry-points."h2otui.engines"]
    myengine = "my_package.engine:MyEngine"

Why the built-ins are registered in code as well as declared as entry points: an
editable install made before an entry point was added has stale metadata, and a
missing built-in would be a confusing failure; registering them here keeps them
available whatever the metadata says (the entry points then add nothing new).

Why entry points are read lazily: scanning installed distributions costs time, and
most runs only ever use a built-in engine. They are read only when a name is not
registered yet or when the full list of names is needed (an error message,
``h2otui models``). Nothing is imported until an engine class is asked for.

Why this module is not inside ``h2otui.engines``: :mod:`h2otui.config` checks a
configured ``engine`` name against the registry, and config must not import the engines
package (start-up cost, and the import circle issue 11 removed). This module imports
only :mod:`h2otui.errors`; ``h2otui.engines`` re-exports :func:`register_engine` and
builds engines from the classes found here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from h2otui.errors import EngineConfigError

#: the entry-point group plugins (and h2otui's own built-ins) declare engines in
ENTRY_POINT_GROUP = "h2otui.engines"


@dataclass(frozen=True, slots=True)
class RegisteredEngine:
    """Where one engine's class lives, and which package to install or fix for it."""

    name: str
    #: ``"module:Class"``, or the class itself
    target: str | type[Any]
    #: the distribution / pip package that provides the engine (or its dependencies)
    package: str = ""
    #: found through an entry point of another distribution (a third-party plugin)
    plugin: bool = False


_ENGINES: dict[str, RegisteredEngine] = {}


def register_engine(
    name: str, target: str | type[Any], package: str = "", *, plugin: bool = False
) -> None:
    """Register an engine under ``name`` (built-ins and plugins use this same call).

    ``target`` is ``"module:Class"`` (imported only when the engine is first used) or
    the class itself; ``package`` is what to ``pip install`` when importing it fails.
    Registering a name again replaces the earlier registration.
    """
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise EngineConfigError(f"engine name {name!r}: use letters, digits, '-' and '_'")
    if isinstance(target, str) and ":" not in target:
        raise EngineConfigError(f"engine '{name}': target {target!r} is not 'module:Class'")
    _ENGINES[name] = RegisteredEngine(name, target, package, plugin)


# the built-in engines: the same call a plugin's entry point amounts to
register_engine("llamacpp", "h2otui.engines.llamacpp:LlamaCppEngine", "llama-cpp-python")
register_engine("tgi", "h2otui.engines.tgi:TGIEngine", "httpx")
register_engine("openai", "h2otui.engines.openai_engine:OpenAIEngine", "openai")
register_engine("gradio", "h2otui.engines.gradio_engine:GradioEngine", "gradio-client")
register_engine(
    "transformers", "h2otui.engines.transformers_engine:TransformersEngine", "h2otui[inprocess]"
)
register_engine("ct2", "h2otui.engines.ct2_engine:CT2Engine", "ctranslate2")


def _add_entry_points() -> None:
    """Register every ``h2otui.engines`` entry point whose name is not registered yet.

    Read afresh on each call (only made on the paths above), so a plugin installed
    while the process runs is found too; an entry point never replaces a registered
    name, so a plugin cannot silently shadow a built-in."""
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in _ENGINES:
            continue
        dist = getattr(ep, "dist", None)
        package = getattr(dist, "name", "") or ep.value.split(":", 1)[0].split(".", 1)[0]
        try:
            register_engine(ep.name, ep.value, package, plugin=True)
        except EngineConfigError:
            continue  # a malformed entry point of some other package: not ours to fail on


def engine_names() -> list[str]:
    """Every engine name h2otui knows, plugins included, sorted."""
    _add_entry_points()
    return sorted(_ENGINES)


def is_registered(name: str) -> bool:
    """Whether ``name`` is a known engine (looks for plugins only if it is not built in)."""
    if name in _ENGINES:
        return True
    _add_entry_points()
    return name in _ENGINES


def unknown_engine_message(name: str) -> str:
    """``unknown engine 'x' (known: a, b, c)`` -- the one wording config and engines use."""
    return f"unknown engine '{name}' (known: {', '.join(engine_names())})"


def registered_engine(name: str) -> RegisteredEngine:
    """The registration of ``name``; :class:`EngineConfigError` listing the known names."""
    if not is_registered(name):
        raise EngineConfigError(unknown_engine_message(name))
    return _ENGINES[name]


def load_engine_class(name: str) -> type[Any]:
    """Import and return the class registered as ``name``.

    A built-in whose optional package is missing says what to ``pip install``; a plugin
    that fails to import in any way names the plugin and its package."""
    reg = registered_engine(name)
    if not isinstance(reg.target, str):
        return reg.target
    module_name, _, cls_name = reg.target.partition(":")
    try:
        module = importlib.import_module(module_name)
        cls = getattr(module, cls_name)
    except ImportError as exc:
        if reg.plugin:
            raise EngineConfigError(
                f"engine '{name}' (plugin {reg.target} from package '{reg.package}') could not "
                f"be imported: {type(exc).__name__}: {exc}. Reinstall '{reg.package}' "
                "(pip install --force-reinstall) or uninstall it"
            ) from None
        raise EngineConfigError(
            f"engine '{name}' needs a package that is not installed ({exc.name or exc}); "
            f"install it with: pip install {reg.package or exc.name}"
        ) from None
    except Exception as exc:  # a plugin's module may fail in any way while importing
        where = f"plugin {reg.target} from package '{reg.package}'" if reg.plugin else reg.target
        raise EngineConfigError(
            f"engine '{name}' ({where}) could not be loaded: {type(exc).__name__}: {exc}"
        ) from None
    if not isinstance(cls, type):
        raise EngineConfigError(f"engine '{name}': {reg.target} is not a class")
    return cls
