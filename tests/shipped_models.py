"""Where the tests that score real exported models find them (shared by several test files)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def models_dir() -> Path:
    """``exported_models/`` (or a developer's ``.dev_models/``) holding both models; skips the
    test when neither does."""
    for d in (REPO / "exported_models", REPO / ".dev_models"):
        if (d / "input" / "manifest.json").is_file() and (d / "output" / "manifest.json").is_file():
            return d
    pytest.skip("no exported models: neither exported_models/ nor .dev_models/ holds input/ and output/")


@pytest.fixture(scope="module")
def models() -> Path:
    """The exported models folder (module-wide)."""
    return models_dir()


@pytest.fixture(scope="module")
def guard(models: Path):  # type: ignore[no-untyped-def]
    """A Guard on the exported models, CPU provider (module-wide)."""
    from guard_plugins.runtime import Guard

    return Guard.load(models, providers="cpu")
