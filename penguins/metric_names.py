"""The names of the pipeline's metrics, once (no NumPy here: the tools that show metrics import it and start fast).

evaluate writes the test metrics under these keys to metrics/metrics.json (penguins/evaluation.py); DVCLive logs
Keras' per-epoch metrics of the validation rows as eval/NAME, which `dvc exp show` flattens to eval.NAME.
`make exp-show` and `python -m tools.sweep collect` show and compare by these names.
"""

ACCURACY = "accuracy"
LOSS = "loss"
F1_MACRO = "f1_macro"
TEST_METRICS = (ACCURACY, F1_MACRO, LOSS)  # metrics/metrics.json's headline metrics, in the tables' column order

VAL_ACCURACY = f"eval.{ACCURACY}"  # dvclive/metrics.json: accuracy on the validation rows at the last epoch
VAL_LOSS = f"eval.{LOSS}"
