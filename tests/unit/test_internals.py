"""penguins.internals, the pipeline's fence around private APIs: canaries that fail, naming the function, when a
dvclive or Python upgrade changes what it relies on, and what each override does.

Tests are exempt from tools/checks/private_api.py: a canary has to name the private parts it guards."""

from __future__ import annotations

import atexit
import inspect
import subprocess
import sys
from pathlib import Path

from tools.repo.run import ENV, ROOT


def test_pipeline_live_relies_on_dvclives_init_dvc_and_init_dvc_pipeline() -> None:
    """internals.pipeline_live overrides DVCLive's Live._init_dvc (checked against dvclive 3.49.1): if an upgrade
    renames it, the override would silently stop saving DVC's repository opening; if _init_dvc_pipeline goes, train
    fails. Either way this fails first, by name."""
    from dvclive import Live

    why = "penguins.internals.pipeline_live: "
    assert "_init_dvc" in vars(Live), why + "dvclive's Live._init_dvc is gone (called from Live.__init__)"
    assert "_init_dvc()" in inspect.getsource(Live.__init__), why + "Live.__init__ no longer calls _init_dvc()"
    assert callable(getattr(Live, "_init_dvc_pipeline", None)), why + "dvclive's Live._init_dvc_pipeline is gone"
    source = inspect.getsource(Live._init_dvc_pipeline)
    assert "_inside_dvc_exp" in source and "_save_dvc_exp = False" in source, why + "_init_dvc_pipeline changed"
    assert callable(getattr(Live, "_init_dvc_file", None)), why + "dvclive's Live._init_dvc_file is gone"
    module = inspect.getsource(inspect.getmodule(Live))  # Live._init_dvc is wrapped (catch_and_warn) without wraps
    assert "self._dvc_file = self._init_dvc_file()" in module, why + "_init_dvc no longer sets _dvc_file so"
    for attribute in ("_inside_dvc_pipeline", "_dvc_file"):
        assert f"self.{attribute} =" in module, why + f"dvclive's Live no longer sets self.{attribute}"


def test_exit_without_teardown_relies_on_atexit_run_exitfuncs() -> None:
    """internals.exit_without_teardown runs CPython's atexit._run_exitfuncs (checked against CPython 3.11 to 3.13)
    before os._exit: gone, the stages would end with a traceback instead of their handlers."""
    why = "penguins.internals.exit_without_teardown: "
    assert callable(getattr(atexit, "_run_exitfuncs", None)), why + "CPython's atexit._run_exitfuncs is gone"
    assert (3, 11) <= sys.version_info[:2] <= (3, 13), why + f"checked against CPython 3.11-3.13, not {sys.version}"


UNDER = {"dvc repro": {}, "dvc exp run": {"DVC_EXP_BASELINE_REV": "0" * 40}}


def test_pipeline_live_under_dvc_opens_no_repository_and_writes_what_live_writes(tmp_path: Path) -> None:
    """Under DVC (DVC_ROOT; dvc exp run adds DVC_EXP_BASELINE_REV), the same files, byte for byte, as DVCLive's own
    Live writes run by hand, without importing dvc.repo (docs/benchmarks.md: most of Live's start under DVC).
    Both ways of running under DVC in one interpreter, before the run by hand (which imports dvc.repo): one
    TensorFlow import for the three (about 3 CPU s each)."""
    code = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from tests.unit.test_model_stages import train, two_epochs\n"
        "from penguins.params import load_params\n"
        "params = two_epochs(load_params())\n"
        f"os.environ['DVC_ROOT'] = {str(tmp_path)!r}\n"
        f"for under, env in {UNDER!r}.items():\n"
        "    os.environ.pop('DVC_EXP_BASELINE_REV', None)\n"
        "    os.environ.update(env)\n"
        f"    train(params, Path({str(tmp_path)!r}) / under.replace(' ', '_'))\n"
        "    print('dvc.repo' in sys.modules)\n"
        "for name in ('DVC_ROOT', 'DVC_EXP_BASELINE_REV'):\n"
        "    os.environ.pop(name, None)\n"
        f"train(params, Path({str(tmp_path / 'by_hand')!r}))  # DVCLive's own Live: opens the repository\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=ENV, cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-len(UNDER) :] == ["False"] * len(UNDER)
    by_hand = tmp_path / "by_hand"
    files = sorted(p.relative_to(by_hand) for p in by_hand.rglob("*") if p.is_file())
    assert files
    for under in UNDER:
        under_dvc = tmp_path / under.replace(" ", "_")
        assert files == sorted(p.relative_to(under_dvc) for p in under_dvc.rglob("*") if p.is_file()), under
        assert all((by_hand / f).read_bytes() == (under_dvc / f).read_bytes() for f in files), under
