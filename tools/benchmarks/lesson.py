"""The Carpentries lesson ("Classification by a neural network using Keras") as one Python script, for scale.

    python -m tools.benchmarks.lesson [--pictures] [--out DIR]

What the pipeline does, in one process, the lesson's way: load the palmerpenguins CSV, keep the four
measurements and the species, drop incomplete rows, one-hot encode, a stratified 80/20 split, the lesson's
network (the pipeline's params.yaml: 10 relu units, Adam 0.01, 100 epochs of batch 32, 20% validation),
predict the test rows, save the model as .keras and reload it. --pictures adds the lesson's pictures (the
pairplot, the training curves, the confusion heatmap) as PNG files. tools.benchmarks.experiment times it
against the pipeline. TensorFlow runs with its defaults, as a learner's notebook does.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

FEATURES = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]


def lesson(out: Path, pictures: bool) -> float:
    """Run the lesson's steps, writing into ``out``; returns the reloaded model's test accuracy."""
    import keras
    import numpy as np
    import palmerpenguins
    import pandas as pd
    from sklearn.model_selection import train_test_split

    penguins = palmerpenguins.load_penguins()
    penguins_filtered = penguins[["species", *FEATURES]].dropna()
    target = pd.get_dummies(penguins_filtered["species"]).astype("float32")
    features = penguins_filtered[FEATURES].astype("float32")
    x_train, x_test, y_train, y_test = train_test_split(
        features, target, test_size=0.2, random_state=0, shuffle=True, stratify=target
    )
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(x_train.shape[1],))
    normalize = keras.layers.Normalization()
    normalize.adapt(x_train.to_numpy())
    hidden = keras.layers.Dense(10, activation="relu")(normalize(inputs))
    outputs = keras.layers.Dense(3, activation="softmax")(hidden)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.01), loss=keras.losses.CategoricalCrossentropy(),
        metrics=["accuracy"],
    )  # fmt: skip
    history = model.fit(x_train, y_train, epochs=100, batch_size=32, validation_split=0.2, verbose=0)
    y_pred = model.predict(x_test, verbose=0)
    model.save(out / "my_first_model.keras")
    reloaded = keras.models.load_model(out / "my_first_model.keras")
    y_reloaded = reloaded.predict(x_test, verbose=0)
    actual = y_test.to_numpy().argmax(axis=1)
    if pictures:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import seaborn as sns
        from sklearn.metrics import confusion_matrix

        sns.pairplot(penguins_filtered, hue="species").savefig(out / "pairplot.png")
        plt.close("all")
        curves = pd.DataFrame(history.history)
        sns.lineplot(data=curves[["loss", "val_loss"]]).figure.savefig(out / "training_curves.png")
        plt.close("all")
        matrix = confusion_matrix(actual, y_pred.argmax(axis=1))
        confusion = pd.DataFrame(matrix, index=target.columns, columns=target.columns)
        sns.heatmap(confusion, annot=True).figure.savefig(out / "confusion_heatmap.png")
        plt.close("all")
    return float(np.mean(y_reloaded.argmax(axis=1) == actual))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pictures", action="store_true", help="also draw and save the lesson's three pictures")
    parser.add_argument("--out", type=Path, help="directory for the model (and pictures); default: a temporary one")
    args = parser.parse_args()
    if args.out:
        try:  # no project import here (it is timed as the lesson alone): the OS says what is wrong, in one line
            args.out.mkdir(parents=True, exist_ok=True)
            tempfile.TemporaryFile(dir=args.out).close()
        except OSError as exc:
            raise SystemExit(
                f"error: --out {args.out}: not a directory it can write in ({exc.strerror or exc})"
            ) from None
        print(f"test accuracy {lesson(args.out, args.pictures):.3f}")
    else:
        with tempfile.TemporaryDirectory(prefix="penguins-lesson-") as tmp:
            print(f"test accuracy {lesson(Path(tmp), args.pictures):.3f}")


if __name__ == "__main__":
    main()
