"""Run each script in examples/ as a user would, in a scratch directory; each checks its fit."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
# Examples with an optional dependency: without it they end with this line instead of OK.
OPTIONAL = {"digits.py": ("sklearn", "SKIPPED (scikit-learn not installed)")}


def run_example(script, cwd, pythonpath=()):
    """Run script with this checkout's clgrad (and any extra path entries first) importable."""
    path = os.pathsep.join(filter(None, [*map(str, pythonpath), str(ROOT),
                                         os.environ.get("PYTHONPATH")]))
    result = subprocess.run([sys.executable, str(script)], cwd=cwd, capture_output=True,
                            text=True, timeout=120, check=False,
                            env={**os.environ, "PYTHONPATH": path})
    assert result.returncode == 0, (
        f"{script.name} exited with {result.returncode}\n"
        f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}")
    return result.stdout.splitlines()[-1]


def test_examples_found():
    assert {p.name for p in EXAMPLES} >= {"linear_regression.py", "two_layer_net.py",
                                          "digits.py"}


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs(script, tmp_path):
    # Run from a scratch directory (the plot lands there).
    module, skipped = OPTIONAL.get(script.name, (None, None))
    if module is not None and importlib.util.find_spec(module) is None:
        assert run_example(script, tmp_path) == skipped
        pytest.skip(f"{script.name}: {module} is not installed")
    assert run_example(script, tmp_path) == "OK"


@pytest.mark.parametrize("name", sorted(OPTIONAL))
def test_example_skips_without_its_dependency(name, tmp_path):
    # A package of that name that fails to import stands in for a missing one.
    module, skipped = OPTIONAL[name]
    (tmp_path / module).mkdir()
    (tmp_path / module / "__init__.py").write_text(f"raise ImportError('no {module}')\n")
    assert run_example(ROOT / "examples" / name, tmp_path, [tmp_path]) == skipped
