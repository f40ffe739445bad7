"""``messaging.compiled.template`` binds only what it proved varies: the
stand-ins' places, each by name; everything else must be the same in both
compilations."""

import pytest

from messaging import compiled

FIRST = {"who": "stand-in one", "when": 1999}
SECOND = {"who": "stand-in two", "when": 1998}


def test_the_stand_ins_places_are_bound_by_name_and_constants_kept():
    template = compiled.template(
        lambda v: ("SELECT %s, %s, %s", [v["who"], "constant", v["when"]]),
        FIRST,
        SECOND,
        what="the test",
    )
    assert template.sql == "SELECT %s, %s, %s"
    assert template.bind(who="ada", when=2026) == ["ada", "constant", 2026]


@pytest.mark.parametrize(
    ("compile_with", "refusal"),
    [
        (lambda v: (f"SELECT {v['when']}", [v["who"]]), "compiles to different SQL"),
        (lambda v: ("SELECT %s, %s", [v["who"], v["when"] + 1]), "is not constant"),
        (lambda v: ("SELECT %s", [v["who"]]), "does not depend on when"),
        (
            lambda v: ("SELECT %s, %s", [v["who"], FIRST["who"]]),
            "binds who inconsistently",
        ),
    ],
)
def test_what_cannot_be_bound_safely_is_refused(compile_with, refusal):
    with pytest.raises(ValueError, match=refusal):
        compiled.template(compile_with, FIRST, SECOND, what="the test")
