"""Every code a person reads has a sentence in both languages: timeline events and audit
actions recorded anywhere in the code (scanned from the source, so a new one cannot be
forgotten), and the catalogue holds no untranslated or fuzzy message."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

from market.core.labels import AUDIT_LABELS
from market.orders.labels import EVENT_LABELS

ROOT = Path(__file__).resolve().parents[2] / "market"
SOURCES = [p.read_text() for p in ROOT.rglob("*.py")]


def literals(pattern: str) -> set[str]:
    found: set[str] = set()
    for text in SOURCES:
        found.update(re.findall(pattern, text, flags=re.S))
    return found


def test_every_timeline_event_has_a_label():
    kinds = literals(r'add_event\(\s*session,\s*[^,]+,\s*[^,]+,\s*"([a-z_]+)"')
    kinds |= {"operation_started", "operation_done"}  # f"operation_{status}"
    assert len(kinds) > 20
    assert kinds - set(EVENT_LABELS) == set()


def test_every_audit_action_has_a_label():
    actions = literals(r'audit\.record\(\s*session,\s*[^,]+,\s*"([a-z_.]+)"')
    actions |= {"booking.started", "booking.done"}  # f"booking.{status}"
    actions |= {"company.verified", "company.suspended", "company.pending"}  # f"company.{...}"
    assert len(actions) > 30
    assert actions - set(AUDIT_LABELS) == set()


def test_the_chinese_catalogue_is_complete(tmp_path):
    """Every message in the code (extracted now, with the Makefile's keywords) has a Chinese
    translation that is neither empty nor fuzzy."""
    makefile = (ROOT.parent / "Makefile").read_text()
    keywords = re.search(r"BABEL_KEYWORDS := (.*?)\n\n", makefile, re.S).group(1)  # type: ignore[union-attr]
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F",
                    "babel.cfg", *keywords.replace("\\", " ").split(), "-o", str(pot), "."],
                   cwd=ROOT.parent, check=True)
    with pot.open("rb") as f:
        wanted = {m.id for m in read_po(f) if m.id}
    path = ROOT / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        catalog = read_po(f)
    done = {m.id for m in catalog if m.id and not m.fuzzy and m.string and not (
        isinstance(m.string, tuple) and not all(m.string))}
    assert sorted(map(str, wanted - done)) == []


def test_service_errors_take_parameters_after_translation(app):
    from market.core.errors import Conflict
    from market.core.labels import label

    exc = Conflict("This booking is %(status)s and cannot be accepted.",
                   params={"status": "in_progress"})
    assert exc.message == "This booking is in progress and cannot be accepted."
    with app.test_request_context(headers={"Accept-Language": "zh"}):
        text = exc.localized
        assert "此预订" in text and label("in_progress") in text and "in_progress" not in text


ERRORS = {"ServiceError", "ValidationError", "NotFound", "PermissionDenied", "Conflict",
          "Unavailable", "RateLimited", "AuthenticationFailed", "TooLarge", "BadWebhook",
          "CsvImportError"}


def test_no_service_message_is_built_with_an_f_string():
    """A message built with an f-string (or % or .format) cannot be in the catalogue: the
    msgid carries %(name)s placeholders and the values go in `params`."""
    import ast

    found = []
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in ERRORS or not node.args:
                continue
            first = node.args[0]
            built = isinstance(first, (ast.JoinedStr, ast.BinOp)) or (
                isinstance(first, ast.Call) and getattr(first.func, "attr", "") == "format")
            fields = node.args[1] if len(node.args) > 1 else None
            if isinstance(fields, ast.Dict):
                built = built or any(isinstance(v, ast.JoinedStr) for v in fields.values)
            if built:
                found.append(f"{path.relative_to(ROOT.parent)}:{node.lineno}")
    assert found == []


def _loose_texts(node):
    """String constants and f-strings in `node` that are not inside N_(...) or
    FieldMessage(...) (those the extractor finds)."""
    import ast

    if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("N_", "FieldMessage"):
        return
    if isinstance(node, ast.IfExp):  # the condition is code, the branches are messages
        yield from _loose_texts(node.body)
        yield from _loose_texts(node.orelse)
        return
    if isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant)
                                           and isinstance(node.value, str) and node.value):
        yield node
        return
    for child in ast.iter_child_nodes(node):
        yield from _loose_texts(child)


def test_every_field_message_is_in_the_catalogue():
    """A field's message (`fields[...] = ...`, or a `required=` text) is marked with N_ or
    built with FieldMessage (values after translation), so a page shows it in the reader's
    language; a bare string or an f-string would stay English in Chinese mode."""
    import ast

    found = []
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            values = []
            if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Subscript) and getattr(t.value, "id", "") == "fields"
                    for t in node.targets):
                values.append(node.value)
            if isinstance(node, ast.keyword) and node.arg == "required":
                values.append(node.value)
            for value in values:
                found += [f"{path.relative_to(ROOT.parent)}:{n.lineno}"
                          for n in _loose_texts(value)]
    assert found == []
