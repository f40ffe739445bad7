"""SQL compiled once per process and bound per call: the send's claim
(``messaging.services.claims``) and the inbox's statements
(``messaging.inbox.statements``).

Django compiles a queryset anew on every call, and for these the compiling
cost more CPU than running them. Their SQL is the same for every person,
conversation and moment; only a few values change. So each is compiled once
with stand-in values, and each call binds the real ones into the same text.

Binding by value is safe only if every parameter is either a stand-in or a
constant. ``template`` proves it when it builds: it compiles twice with two
different sets of stand-ins and refuses (``ValueError``) if anything but the
stand-ins' places differ, or if a stand-in is missing. A change that makes
the SQL depend on something else (a value computed from the time, say)
fails there, on first use, not silently.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Template:
    sql: str
    # For each parameter: the name of the value to bind there, or a constant.
    slots: tuple[tuple[str | None, object], ...]

    def bind(self, **values: object) -> list:
        """The parameters, each named value in its places."""
        return [values[name] if name else constant for name, constant in self.slots]


def _slot(stand_ins: Mapping[str, object], value: object) -> str | None:
    """Which stand-in ``value`` is, if any."""
    for name, stand_in in stand_ins.items():
        if type(value) is type(stand_in) and value == stand_in:
            return name
    return None


def template(
    compile_with: Callable[[Mapping[str, object]], tuple[str, Sequence]],
    first: Mapping[str, object],
    second: Mapping[str, object],
    *,
    what: str,
) -> Template:
    """``compile_with(stand_ins)`` (SQL and parameters) made a template whose
    named values are ``first``'s names, once it proved that only they vary.
    Stand-ins are values no real row, clock or type has; ``first`` and
    ``second`` name the same values, each different."""
    sql, params = compile_with(first)
    other_sql, other_params = compile_with(second)
    if sql != other_sql or len(params) != len(other_params):
        raise ValueError(f"{what} compiles to different SQL for different values.")
    slots: list[tuple[str | None, object]] = []
    for one, other in zip(params, other_params, strict=True):
        name = _slot(first, one)
        if name is None and one != other:
            raise ValueError(f"A parameter of {what} is not constant: {one!r}")
        if name is not None and _slot(second, other) != name:
            raise ValueError(f"{what} binds {name} inconsistently.")
        slots.append((name, None if name else one))
    missing = set(first) - {name for name, _ in slots if name}
    if missing:
        raise ValueError(f"{what} does not depend on {', '.join(sorted(missing))}.")
    return Template(sql, tuple(slots))
