"""Modules stay small: past 400 lines a module becomes a package of smaller modules by concern (migrations aside,
which Django writes)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "care_events", "tasks_app", "notifications", "demo", "bench", "chaos", "scripts")
MAX_LINES = 400


def module_lines() -> dict[str, int]:
    sizes = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.relative_to(ROOT).parts:
                continue
            sizes[str(path.relative_to(ROOT))] = len(path.read_text(encoding="utf-8").splitlines())
    return sizes


def test_the_walk_finds_the_modules():
    sizes = module_lines()
    assert "config/settings/base.py" in sizes and "chaos/run.py" in sizes and "scripts/services.py" in sizes
    assert not any("/migrations/" in path for path in sizes)


def test_no_module_is_over_400_lines():
    too_long = {path: lines for path, lines in module_lines().items() if lines > MAX_LINES}
    assert not too_long, "over 400 lines, split by concern: " + ", ".join(
        f"{path} ({lines})" for path, lines in sorted(too_long.items())
    )
