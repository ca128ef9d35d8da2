"""The model of dvc.yaml and dvc.lock that every tool uses: stages, which stage makes which path, the stage graph.

Pure functions over the parsed files (so they can be tested without a repository): the graph is networkx, an
edge from each stage to every stage that reads one of its outputs (or a file inside an output directory).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import networkx as nx

# dvc.lock's outputs view, re-exported for the tools: its home is penguins.dvclock (penguins.notebook reads it too;
# penguins never imports tools)
from penguins.dvclock import Locked, lock_outputs, read_lock  # noqa: F401
from penguins.errors import PipelineError
from penguins.io import file_md5
from penguins.yamlio import read_yaml

Pipeline = Mapping[str, Any]  # parsed dvc.yaml


def read_pipeline(repo: Path) -> dict[str, Any]:
    """``repo``'s dvc.yaml, parsed; a missing one is a one-line error."""
    try:
        return read_yaml(repo / "dvc.yaml") or {}
    except FileNotFoundError:
        raise PipelineError(f"dvc.yaml not found in {repo}; run from a clone of the project") from None


def out_path(entry: str | Mapping[str, Any]) -> str:
    """dvc.yaml lists a dep or out as a path, or as {path: options}."""
    return entry if isinstance(entry, str) else next(iter(entry))


def stages(pipeline: Pipeline) -> dict[str, Any]:
    return dict(pipeline.get("stages") or {})


def deps(pipeline: Pipeline, stage: str) -> list[str]:
    return [out_path(dep) for dep in stages(pipeline)[stage].get("deps", [])]


def produced_paths(pipeline: Pipeline) -> dict[str, str]:
    """{output path: stage} for every output declared in dvc.yaml."""
    return {out_path(out): stage for stage, spec in stages(pipeline).items() for out in spec.get("outs", [])}


def producer_of(path: str, producers: Mapping[str, str]) -> str | None:
    """The output of the pipeline that ``path`` is, or lies in (a file inside an output directory), else None."""
    for out in producers:
        if path == out or path.startswith(out.rstrip("/") + "/"):
            return out
    return None


def graph(pipeline: Pipeline) -> nx.DiGraph:
    """The stage graph: an edge producer -> consumer for every dep that is (or lies in) another stage's output."""
    producers = produced_paths(pipeline)
    found = nx.DiGraph()
    for index, stage in enumerate(stages(pipeline)):
        found.add_node(stage, index=index)
    for stage in stages(pipeline):
        for dep in deps(pipeline, stage):
            if (out := producer_of(dep, producers)) and producers[out] != stage:
                found.add_edge(producers[out], stage)
    return found


def stage_order(pipeline: Pipeline) -> list[str]:
    """The stages, each after every stage whose outputs it reads (dvc.yaml order among independent ones)."""
    g = graph(pipeline)
    try:
        return list(nx.lexicographical_topological_sort(g, key=lambda s: g.nodes[s]["index"]))
    except nx.NetworkXUnfeasible:
        cyclic = {s for component in nx.strongly_connected_components(g) if len(component) > 1 for s in component}
        stuck = cyclic | {d for s in cyclic for d in nx.descendants(g, s)}
        raise PipelineError(f"dvc.yaml: the stages {sorted(stuck)} depend on each other") from None


def downstream(pipeline: Pipeline, stage: str) -> set[str]:
    """The stage and every stage that (transitively) reads one of its outputs."""
    return {stage, *nx.descendants(graph(pipeline), stage)}


def upstream(pipeline: Pipeline, stage: str) -> set[str]:
    """Every stage whose outputs the stage (transitively) reads, not the stage itself."""
    return set(nx.ancestors(graph(pipeline), stage))


def direct_upstream(pipeline: Pipeline, stage: str) -> list[str]:
    """The stages whose outputs the stage reads itself, sorted (`dvc repro` of them brings all before)."""
    return sorted(graph(pipeline).predecessors(stage))


def outputs_outside(pipeline: Pipeline, ran: Iterable[str]) -> list[str]:
    """Outputs of the stages not in ``ran``, in dvc.yaml order."""
    done = set(ran)
    return [out for out, stage in produced_paths(pipeline).items() if stage not in done]


def outputs_reading(pipeline: Pipeline, path: str) -> list[str]:
    """Outputs of the stages that list ``path`` as a dep."""
    return [
        out_path(out)
        for stage, spec in stages(pipeline).items()
        if path in deps(pipeline, stage)
        for out in spec.get("outs", [])
    ]


def lock_md5s(lock: Mapping[str, Any]) -> dict[str, str]:
    """{output path: md5} of the outputs dvc.lock gives an md5 (lock_outputs' md5s)."""
    return {path: out.md5 for path, out in lock_outputs(lock).items() if out.md5}


def cached_outputs(pipeline: Pipeline) -> list[str]:
    """The outputs DVC keeps in its cache (and `dvc checkout` restores): every out not marked `cache: false`."""
    return [
        out_path(out)
        for spec in stages(pipeline).values()
        for out in spec.get("outs", [])
        if isinstance(out, str) or (next(iter(out.values())) or {}).get("cache", True)
    ]


def damaged_outputs(
    repo: Path, md5s: Mapping[str, str], paths: Iterable[str], cache_path: Any = None
) -> dict[str, str]:
    """{output: the md5 of its bytes} for the outputs among ``paths`` whose workspace bytes are not the md5
    dvc.lock gives; absent outputs are not damaged, only missing. A directory is damaged when any file of its
    manifest (located in DVC's cache by ``cache_path(md5)``), or the manifest itself, does not match: its value
    is then "". Without ``cache_path`` directories are left to DVC's own `verify`."""
    damaged = {}
    for rel in (path.rstrip("/") for path in paths):
        want, target = md5s.get(rel), repo / rel
        if want is None or not target.exists():
            continue
        if not want.endswith(".dir"):
            got = file_md5(target) if target.is_file() else ""
            if got != want:
                damaged[rel] = got
            continue
        if cache_path is None:
            continue
        manifest = Path(cache_path(want))
        if not manifest.is_file() or file_md5(manifest) != want.removesuffix(".dir"):
            damaged[rel] = ""
            continue
        entries = json.loads(manifest.read_text())
        on_disk = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
        listed = sorted(entry["relpath"] for entry in entries)
        if on_disk != listed or any(file_md5(target / e["relpath"]) != e["md5"] for e in entries):
            damaged[rel] = ""
    return damaged


def damaged_objects(md5: str, cache_path: Any) -> list[Path]:
    """The cache objects of output ``md5`` whose bytes are not their name: the file itself, or for a directory
    its manifest (when damaged) and every file object of a readable manifest that does not match."""
    path = Path(cache_path(md5))
    if not path.is_file():
        return []
    if file_md5(path) != md5.removesuffix(".dir"):
        return [path]
    if not md5.endswith(".dir"):
        return []
    objects = ((Path(cache_path(e["md5"])), e["md5"]) for e in json.loads(path.read_text()))
    return [obj for obj, want in objects if obj.is_file() and file_md5(obj) != want]


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings (params, metrics) as one level of dotted keys, in their original order: {"a.b.c": 0.96}."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat
