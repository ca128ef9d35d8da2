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


LIVE = "from dvclive import Live\n"


@pytest.mark.parametrize(
    ("source", "line", "what"),
    [
        (LIVE + "def fit(live: Live):\n    return live._step\n", 3, "._step of dvclive's live"),  # modeling.fit's shape
        (LIVE + "def fit(live: 'Live | None'):\n    return live._step\n", 3, "._step of dvclive's live"),
        (LIVE + "def make() -> Live: ...\nmake()._step\n", 3, "._step of dvclive's make"),
        (
            LIVE
            + "class C:\n    def __init__(self):\n        self.live = Live()\n    def f(self):\n        self.live._x\n",
            6,
            "._x of dvclive's self.live",
        ),
        (LIVE + "class C:\n    live: Live\n    def f(self):\n        self.live._x\n", 5, "._x of dvclive's self.live"),
        ("import sys\nfor m in sys.modules.values():\n    m._x\n", 3, "._x of sys's m"),
        ("import sys\n[m._getframe() for m in [sys]]\n", 2, "._getframe of sys's m"),
        ("import atexit, sys\na, b = sys, atexit\nb._run_exitfuncs()\n", 3, "._run_exitfuncs of atexit's b"),
        ("import sys\nd = {'a': sys}\nd['a']._getframe()\n", 3, "._getframe of sys's d"),
        ("import sys\nif (s := sys):\n    s._getframe()\n", 3, "._getframe of sys's s"),
        ("import atexit\nf = lambda m=atexit: m._run_exitfuncs()\n", 2, "._run_exitfuncs of atexit's m"),
        (
            "import subprocess\ntry:\n    pass\nexcept subprocess.CalledProcessError as e:\n    e._x\n",
            5,
            "._x of subprocess's e",
        ),
        ("try:\n    pass\nexcept (KeyError, OSError) as e:\n    e._x\n", 4, "._x of builtins's e"),
        ("import sys\ngetattr(sys, '_getframe')(0)\n", 2, "._getframe of sys's sys"),
        (LIVE + "live = Live()\nhasattr(live, '_step')\n", 3, "._step of dvclive's live"),
        ("from dvclive._utils import env2bool\n", 1, "import of private dvclive._utils.env2bool"),
        ("import dvclive._utils\n", 1, "import of private dvclive._utils"),
        ("from dvc.api._x import y\n", 1, "import of private dvc.api._x.y"),
        ("from dvc.api import _x\n", 1, "import of private dvc.api._x"),
    ],
)
def test_names_bound_to_a_watched_object_and_private_modules_are_caught(source: str, line: int, what: str) -> None:
    """The data flow within a file: annotated parameters, attributes, loops, except, tuples, literals, getattr."""
    problems_found = found(source)
    assert problems_found, source
    assert problems_found[0].startswith(f"penguins/x.py:{line}: "), problems_found
    assert what in problems_found[0], problems_found


@pytest.mark.parametrize(
    "source",
    [
        # penguins/cli.py's and tools/repo/pipeline.py's shapes: a stdlib subclass's own private attributes
        "import argparse\nclass CliParser(argparse.ArgumentParser):\n    def error(self, m):\n        self._seen = m\n",
        "from argparse import ArgumentParser\nclass P(ArgumentParser):\n    def f(self):\n        return self._mine\n",
        "from typing import NamedTuple\nclass Locked(NamedTuple):\n    a: int\n    def f(self):\n        self._cache\n",
        "import threading\nclass T(threading.Thread):\n    def __init__(self):\n        self._mine = 1\n",
        "class Failed(Exception):\n    def __init__(self):\n        self._detail = 1\n",
        "from typing import Any\ndef f(x: Any):\n    return x._own\n",  # typing's names are not objects of its
    ],
)
def test_a_standard_library_subclass_may_use_its_own_private_attributes(source: str) -> None:
    assert found(source) == []


@pytest.mark.parametrize(
    ("source", "what"),
    [
        ("import argparse\nclass P(argparse.ArgumentParser):\n    def f(self):\n        self._actions\n", "._actions"),
        ("import threading\nclass T(threading.Thread):\n    def f(self):\n        self._started\n", "._started"),
        ("from dvclive import Live\nclass P(Live):\n    def f(self):\n        self._mine\n", "._mine"),  # any
    ],
)
def test_a_subclass_using_what_its_base_defines_privately_is_caught(source: str, what: str) -> None:
    """A stdlib base's private names, class or instance ones (ArgumentParser sets self._actions in __init__);
    for a DVCLive base, any private name (its privates are not listed here)."""
    problems_found = found(source)
    assert len(problems_found) == 1, problems_found
    assert f"private attribute {what} of" in problems_found[0], problems_found


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
