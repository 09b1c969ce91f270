"""The Python shown in docs/python-api.md and docs/coming-from.md runs as shown (under a
lab name of its own)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
CLOSE = """
from netlab.checks.run import check_lab
if not lab.is_up():
    lab.up()
try:
    assert check_lab(lab)
finally:
    lab.down()
"""


@pytest.mark.parametrize("page", ["python-api.md", "coming-from.md"])
def test_the_python_of_the_page_runs(page: str, fresh_lab: str, tmp_path: Path) -> None:
    code = re.search(r"```python\n(.*?)```", (DOCS / page).read_text(), re.S)
    assert code is not None
    text = re.sub(r'netlab\.build\("[a-z0-9-]+"', f'netlab.build("{fresh_lab}"', code.group(1))
    script = tmp_path / "example.py"
    script.write_text(text + CLOSE)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
