"""The project's own lint checks (run by `make lint`): stage_deps checks dvc.yaml's code deps."""
