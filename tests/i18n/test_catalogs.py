"""Every user-facing string is translated, in every language Parley ships.

``makemessages`` runs on a copy of the sources (so a developer's catalogs
are not rewritten by the test): a string added to a template, a module or a
script without its translation shows up there untranslated, and fails the
test by name. The compiled catalogs must match their sources, and msgfmt
must accept the placeholders of every translation.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["accounts", "messaging", "notifications", "config", "templates", "static", "locale"]
DOMAINS = ["django", "djangojs"]
LANGUAGES = [code for code, _ in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The catalogs as makemessages leaves them for the current sources."""
    copy = tmp_path_factory.mktemp("sources")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SOURCES:
        shutil.copytree(ROOT / name, copy / name, ignore=ignore)
    shutil.copy(ROOT / "manage.py", copy / "manage.py")
    env = {**os.environ, "PARLEY_PROFILE": "embedded", "DEBUG": "true"}
    languages = [arg for code in LANGUAGES for arg in ("-l", code)]
    for domain in DOMAINS:
        subprocess.run(
            [
                sys.executable,
                "manage.py",
                "makemessages",
                *languages,
                "-d",
                domain,
                "--no-obsolete",
                "--add-location=file",
            ],
            cwd=copy,
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )
    return copy / "locale"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("domain", DOMAINS)
def test_every_string_has_a_translation(extracted, language, domain):
    catalog = polib.pofile(str(extracted / language / "LC_MESSAGES" / f"{domain}.po"))
    assert len(catalog) > 0
    untranslated = [entry.msgid for entry in catalog if not entry.translated()]
    assert untranslated == [], f"{language}/{domain}: {len(untranslated)} untranslated"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("domain", DOMAINS)
def test_compiled_catalog_matches_its_source(language, domain):
    folder = ROOT / "locale" / language / "LC_MESSAGES"
    source = polib.pofile(str(folder / f"{domain}.po"))
    compiled = polib.mofile(str(folder / f"{domain}.mo"))

    def table(catalog):
        return {
            (entry.msgctxt, entry.msgid): entry.msgstr or tuple(sorted(entry.msgstr_plural.items()))
            for entry in catalog
            if entry.msgid and (not hasattr(entry, "translated") or entry.translated())
        }

    assert table(compiled) == table(source), "run: manage.py compilemessages"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("domain", DOMAINS)
def test_translations_keep_their_placeholders(language, domain):
    source = ROOT / "locale" / language / "LC_MESSAGES" / f"{domain}.po"
    result = subprocess.run(
        ["msgfmt", "--check-format", "-o", os.devnull, str(source)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
