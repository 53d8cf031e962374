"""docs/architecture.md answers a newcomer's four questions by naming files and functions: each must exist, and
each answer must stay within four files (the point of the section is that it is quick to follow)."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "architecture.md").read_text()
# `path/to/module.py: name` (a function, class or constant defined in that module, at any depth).
REFERENCE = re.compile(r"`([\w/]+\.py): (\w+)`")


def _questions() -> dict[str, str]:
    section = DOC.split("## Four questions a newcomer asks", 1)[1].split("\n## ", 1)[0]
    parts = re.split(r"^### ", section, flags=re.MULTILINE)[1:]
    return {part.splitlines()[0]: part for part in parts}


def _names_defined(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
    return names


def test_the_doc_asks_the_four_questions() -> None:
    assert len(_questions()) == 4


@pytest.mark.parametrize("question", list(_questions()))
def test_each_answer_names_files_and_functions_that_exist(question: str) -> None:
    references = REFERENCE.findall(_questions()[question])
    assert references, f"{question!r} names no `file.py: function`"
    for file, name in references:
        path = ROOT / file
        assert path.is_file(), f"{question!r} names {file}, which does not exist"
        assert name in _names_defined(path), f"{question!r} names {name} in {file}, which does not define it"


@pytest.mark.parametrize("question", list(_questions()))
def test_each_answer_stays_within_four_files(question: str) -> None:
    files = {file for file, _ in REFERENCE.findall(_questions()[question])}
    assert len(files) <= 4, f"{question!r} sends a newcomer through {len(files)} files: {sorted(files)}"
