"""penguins: the shared code of the pipeline's stages (stages/*.py) and the predict command.

Each module holds one concern, so that a stage depends (in dvc.yaml) on exactly the modules it imports:

    errors       PipelineError, the one-line error every user-fixable problem becomes
    paths        the repository root and every file the pipeline reads or writes
    params       params.yaml as pydantic models, validated in one place (the schema)
    yamlio       YAML read exactly as DVC reads it (params.yaml; dvc.yaml and dvc.lock for the tools)
    guards       a stage run by DVC refuses params.yaml rewritten since validate_params checked it
    io           atomic writes, CSV/JSON reading with one-line errors
    cli          argparse with one-line usage errors, the stages' --help from module docstrings, run_stage
    internals    the pipeline's fence: every private DVCLive or CPython call, each naming its checked version
    tables       checks of tabular input: labels, numeric columns, CSV line numbers
    columns      naming conventions: one-hot columns, unit suffixes
    sources      where the raw data comes from: the palmerpenguins package, or a URL with a checksum
    data         the lesson's data steps: clean, encode, split
    summary      what explore reports about the raw data
    card         the model card (models/model.json): features and classes of a model, the md5s of its files
    light        the light model (models/model.safetensors): a model's weights and their NumPy forward pass
    environment  the knobs pinned for TensorFlow and a record of this machine (no TensorFlow import)
    training     what train checks before importing TensorFlow (fitting vs validation rows), and train_model:
                 the whole training that the train stage and the lesson notebook both call
    optional     imports for less: without dependencies not used here, without the garbage collector
    modeling     the lesson's Keras: determinism, the network, fit, predict, save and load (the only TensorFlow
                 importer)
    progress     training's progress lines on stderr
    archive      .keras files: byte-stable saving, zip-bomb and damage checks before loading (no TensorFlow)
    history      DVCLive's per-epoch files read back as one table (for the figures stage)
    evaluation   scores and the prediction table
    metric_names the metrics' names, once (evaluate writes them, the tools show them; no NumPy)
    plotting     matplotlib/seaborn pictures as byte-stable PNGs
    predict      the `penguins-predict` command (python -m penguins.predict)
    predict_input   its input: options from the card, reading a CSV (bounded), the checks of every value
    predict_output  its output: table, CSV, JSON
    pathkinds    what a path the user typed is when not a file (a directory, a FIFO), for messages
    notebook     the notebooks' helpers: one-line errors in a cell, dvc from the kernel's .venv, experiments
    dvclock      dvc.lock's outputs, the one view (the tools and the notebooks; tools import penguins, not back)
    dvc_output   the one error line of a git or DVC command's output (the tools and the notebooks' dvc)
    text_table   the one renderer (tabulate) of text and Markdown tables for people
"""
