"""Benchmark probe for tools.benchmarks.experiment: on PYTHONPATH with PENGUINS_PROBE_DIR set, every Python process
(dvc and each stage) writes where its CPU and wall time went to <dir>/<pid>.json when it exits.

Phases, each interval charged to the innermost one open: interpreter (start-up until this file runs), imports
(builtins.__import__ and importlib.import_module), params (penguins.params.load_params), reading (the penguins
readers and load_model), writing (inside penguins.io.atomic_path, and save_model), work (the rest). In the dvc
process, every stage it starts (a Popen running `stages.`) marks the spans before, between and after stages.
Not part of the pipeline: nothing here runs unless a benchmark puts this directory on PYTHONPATH.
"""

import os

if os.environ.get("PENGUINS_PROBE_DIR"):
    import atexit
    import builtins
    import functools
    import importlib
    import json
    import sys
    import time

    _cpu, _wall = time.process_time, time.perf_counter
    _started_cpu, _started_wall, _started_epoch = _cpu(), _wall(), time.time()
    _cpu_by = {"interpreter": _started_cpu}
    _wall_by = {"interpreter": 0.0}
    _stack = ["work"]
    _last = [_started_cpu, _started_wall]
    _marks = []  # dvc: (what, cpu, wall) at each stage's start and end

    def _charge():
        cpu, wall = _cpu(), _wall()
        top = _stack[-1]
        _cpu_by[top] = _cpu_by.get(top, 0.0) + cpu - _last[0]
        _wall_by[top] = _wall_by.get(top, 0.0) + wall - _last[1]
        _last[:] = [cpu, wall]

    class _Phase:
        def __init__(self, name):
            self.name = name

        def __enter__(self):
            _charge()
            _stack.append(self.name)

        def __exit__(self, *exc):
            _charge()
            _stack.pop()

    def _timed(name, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with _Phase(name):
                return function(*args, **kwargs)

        return wrapper

    def _timed_context(name, factory):
        @functools.wraps(factory)
        def wrapper(*args, **kwargs):
            inner = factory(*args, **kwargs)

            class Context:
                def __enter__(self):
                    _charge()
                    _stack.append(name)
                    return inner.__enter__()

                def __exit__(self, *exc):
                    try:
                        return inner.__exit__(*exc)
                    finally:
                        _charge()
                        _stack.pop()

            return Context()

        return wrapper

    PATCHES = {
        "penguins.params": {"load_params": "params"},
        "penguins.io": {"read_csv": "reading", "read_json": "reading", "atomic_path": "writing"},
        "penguins.card": {"read_card": "reading"},
        "penguins.history": {"read_history": "reading"},
        "penguins.sources": {"read_package_csv": "reading"},
        "penguins.modeling": {"load_model": "reading", "save_model": "writing"},
    }
    _patched = set()

    def _patch_new_modules():
        for module_name in PATCHES.keys() - _patched:
            module = sys.modules.get(module_name)
            if module is None or not all(hasattr(module, f) for f in PATCHES[module_name]):
                continue
            _patched.add(module_name)
            for function, phase in PATCHES[module_name].items():
                original = getattr(module, function)
                wrap = _timed_context if function == "atomic_path" else _timed
                setattr(module, function, wrap(phase, original))

    def _probed(importer):  # builtins.__import__ and importlib.import_module, timed as "imports"
        def probe(*args, **kwargs):
            with _Phase("imports"):
                module = importer(*args, **kwargs)
            if len(_patched) < len(PATCHES):
                _patch_new_modules()
            return module

        return probe

    builtins.__import__, importlib.import_module = _probed(builtins.__import__), _probed(importlib.import_module)

    import subprocess

    _popen_init, _popen_wait = subprocess.Popen.__init__, subprocess.Popen.wait

    def _stage_name(args):
        text = args if isinstance(args, str) else " ".join(map(str, args))
        return text.split("stages.", 1)[1].split()[0] if "-m stages." in text else None

    def _init(self, args, *rest, **kwargs):
        self._probe_stage = _stage_name(args)
        if self._probe_stage:
            _marks.append(("start " + self._probe_stage, _cpu(), _wall()))
        _popen_init(self, args, *rest, **kwargs)

    def _wait(self, *args, **kwargs):
        code = _popen_wait(self, *args, **kwargs)
        if getattr(self, "_probe_stage", None) and not getattr(self, "_probe_done", False):
            self._probe_done = True
            _marks.append(("end " + self._probe_stage, _cpu(), _wall()))
        return code

    subprocess.Popen.__init__, subprocess.Popen.wait = _init, _wait

    @atexit.register
    def _write():
        _charge()
        record = {
            "argv": sys.argv,
            "pid": os.getpid(),
            "started": _started_epoch,
            "cpu": _cpu(),
            "wall": _wall() - _started_wall + 0.0,
            "cpu_by": _cpu_by,
            "wall_by": _wall_by,
            "marks": [(what, cpu, wall - _started_wall) for what, cpu, wall in _marks],
        }
        path = os.path.join(os.environ["PENGUINS_PROBE_DIR"], f"{os.getpid()}.json")  # noqa: PTH118 (no pathlib: light)
        with open(path, "w") as out:  # noqa: PTH123
            json.dump(record, out)
