"""Deprecated names kept for one release (see the "Deprecated names" table of docs/glossary.md).

Two small tools, used wherever a public name changed:

* :func:`renamed_kwargs` — a decorator that accepts an old keyword argument, passes its value on under
  the new name and warns;
* :class:`renamed_attribute` — a class attribute (descriptor) that reads and writes the new attribute under
  the old name and warns.

Both warn with :class:`QuakelabDeprecationWarning` (a :class:`FutureWarning`, shown to users by default,
and a :class:`~quakelab.QuakelabWarning`, so the test suite fails when quakelab or its tests still use an
old name).
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from quakelab import QuakelabWarning

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["QuakelabDeprecationWarning", "renamed_attribute", "renamed_kwargs", "warn_renamed"]


class QuakelabDeprecationWarning(QuakelabWarning, FutureWarning):
    """A deprecated quakelab name was used; the message names the new one."""


def warn_renamed(old: str, new: str, where: str, stacklevel: int = 3) -> None:
    """Warn that ``old`` is deprecated in favour of ``new`` (``where`` says whose name it is).

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     warn_renamed("mc", "min_magnitude", "ETAS()")
    >>> str(w[0].message)
    "ETAS(): 'mc' is deprecated, use 'min_magnitude' (the old name will be removed in a later release)"
    """
    warnings.warn(
        f"{where}: {old!r} is deprecated, use {new!r} (the old name will be removed in a later release)",
        QuakelabDeprecationWarning,
        stacklevel=stacklevel,
    )


def renamed_kwargs(**renames: str) -> Callable[[F], F]:
    """Decorator: accept the old keyword names ``old=new`` of a function, warn and pass them on as ``new``.

    Passing both the old and the new name raises :class:`TypeError`, as Python does for a keyword given
    twice.

    Parameters
    ----------
    **renames : str
        ``old_name="new_name"`` pairs.

    Examples
    --------
    >>> import warnings
    >>> @renamed_kwargs(mc="min_magnitude")
    ... def cut(magnitudes, *, min_magnitude):
    ...     return [m for m in magnitudes if m >= min_magnitude]
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     cut([1.0, 2.0, 3.0], mc=2.0)
    [2.0, 3.0]
    """

    def decorate(func: F) -> F:
        name = func.__qualname__.replace(".__init__", "")
        params = inspect.signature(func).parameters
        for old, new in renames.items():
            if new not in params and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
                raise TypeError(f"{name}: renamed keyword {old!r} -> {new!r}, but {new!r} is not a parameter")

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(
                            f"{name}() got both {old!r} (deprecated) and {new!r}; pass only {new!r}"
                        )
                    warn_renamed(old, new, f"{name}()")
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        wrapper.__renamed_kwargs__ = dict(renames)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


class renamed_attribute:
    """Class attribute: the old name of an attribute, reading and writing the new one with a warning.

    Examples
    --------
    >>> import warnings
    >>> class Model:
    ...     mc = renamed_attribute("min_magnitude")
    ...     def __init__(self):
    ...         self.min_magnitude = 2.0
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     Model().mc
    2.0
    """

    def __init__(self, new: str) -> None:
        self.new = new
        self.old = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.old, self.owner = name, owner.__name__

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        warn_renamed(self.old, self.new, self.owner, stacklevel=3)
        return getattr(obj, self.new)

    def __set__(self, obj: Any, value: Any) -> None:
        warn_renamed(self.old, self.new, self.owner, stacklevel=3)
        setattr(obj, self.new, value)


class RenamedKeysDict(dict):
    """A settings dict whose renamed keys are still readable by their old names (with a warning).

    Only ``d[old]`` is redirected; iteration, ``in`` and ``get`` see the new keys only.

    Examples
    --------
    >>> import warnings
    >>> d = RenamedKeysDict({"min_magnitude": 1.0}, renamed={"mc": "min_magnitude"})
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     d["mc"]
    1.0
    >>> list(d)
    ['min_magnitude']
    """

    def __init__(self, *args: Any, renamed: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.renamed = dict(renamed)

    def __missing__(self, key: Any) -> Any:
        if key in self.renamed:
            warn_renamed(key, self.renamed[key], "settings key", stacklevel=3)
            return self[self.renamed[key]]
        raise KeyError(key)
