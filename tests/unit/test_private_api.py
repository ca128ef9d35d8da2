"""tools/checks/private_api.py (make lint): private DVC, DVCLive, Hydra and CPython APIs only in the two fence
modules; each kind of use is caught on a small snippet, naming file:line, and what is public passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.checks.private_api import FENCES, problems, problems_in


def found(source: str) -> list[str]:
    return problems_in(source, "penguins/x.py")


@pytest.mark.parametrize(
    ("source", "line", "what"),
    [
        ("import dvc.repo\n", 1, "import of dvc.repo: only dvc.api"),
        ("import os\nfrom dvc.repo import Repo\n", 2, "import of dvc.repo.Repo: only dvc.api"),
        ("import dvc\n", 1, "import of dvc: only dvc.api"),
        ("def f():\n    from dvc.lock import LockError\n", 2, "import of dvc.lock.LockError"),  # inside a function
        ("import hydra\n", 1, "import of hydra: Hydra is private here"),
        ("from hydra.errors import HydraException\n", 1, "import of hydra.errors.HydraException: Hydra"),
        ("import atexit\natexit._run_exitfuncs()\n", 2, "private attribute ._run_exitfuncs of atexit's atexit"),
        ("import sys\nframe = sys._getframe(1)\n", 2, "private attribute ._getframe of sys's sys"),
        ("from atexit import _run_exitfuncs\n", 1, "import of private atexit._run_exitfuncs"),
        (
            "from dvclive import Live\nlive = Live('d')\nlive._dvc_file\n",
            3,
            "private attribute ._dvc_file of dvclive's",
        ),
        (
            "from dvclive import Live\nwith Live('d') as live:\n    live._init_dvc()\n",
            3,
            "private attribute ._init_dvc of dvclive's live",
        ),
        ("import dvclive\ndvclive.live.Live._init_dvc\n", 2, "private attribute ._init_dvc of dvclive's dvclive"),
        (
            "from dvclive import Live\nclass P(Live):\n    def _init_dvc(self):\n        super()._init_dvc()\n",
            4,
            "private attribute ._init_dvc of dvclive's P base",
        ),
    ],
)
def test_each_kind_of_private_use_is_caught_naming_its_line(source: str, line: int, what: str) -> None:
    problems_found = found(source)
    assert problems_found, source
    assert problems_found[0].startswith(f"penguins/x.py:{line}: {what}"), problems_found


@pytest.mark.parametrize(
    "source",
    [
        "import dvc.api\n",
        "from dvc import api\n",
        "from dvc.api import params_show\n",
        "from dvclive import Live\nfrom dvclive.keras import DVCLiveCallback\nLive('d').log_metric('a', 1)\n",
        "import os\nos._exit(0)\n",  # documented as public
        "import sys\nsys.__stdout__.flush()\n",  # a dunder
        "from collections import namedtuple\nP = namedtuple('P', 'a')\nP(1)._replace(a=2)\n",
        "class A:\n    def f(self):\n        return self._own\n",  # the project's own private attributes
        "import yaml_like\nyaml_like._x\n",  # not DVC, DVCLive, Hydra or the standard library
    ],
)
def test_public_apis_pass(source: str) -> None:
    assert found(source) == []


def test_only_the_fence_modules_and_tests_may(tmp_path: Path) -> None:
    """The same private call in each place: refused in penguins/, stages/, tools/ and tasks.py; not in the two
    fence modules, nor in tests/ (canary tests name the private parts they guard)."""
    call = "import atexit\natexit._run_exitfuncs()\n"
    places = [*FENCES, "penguins/x.py", "stages/y.py", "tools/sub/z.py", "tasks.py", "tests/unit/test_x.py"]
    for place in places:
        (tmp_path / place).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / place).write_text(call)
    assert [line.split(":")[0] for line in problems(tmp_path)] == [
        "penguins/x.py",
        "stages/y.py",
        "tools/sub/z.py",
        "tasks.py",
    ]
