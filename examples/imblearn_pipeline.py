"""GANOversampler in an imbalanced-learn pipeline, in front of a scikit-learn classifier, on flat digits.

    python examples/imblearn_pipeline.py            # full size, CPU
    python examples/imblearn_pipeline.py --tiny     # a few seconds: smoke test

scikit-learn's digits as flat rows (64 features = 8x8 images, values 0..16). After a stratified
train/test split, classes 5-9 keep only ``--rare`` training samples each (classes 0-4 keep all).
Three pipelines are fitted on that imbalanced training set and scored by balanced accuracy on the
untouched test set: the classifier alone, with imblearn's RandomOverSampler (duplicates), and with
GANOversampler (a conditional GAN trained on the training rows fills the rare classes up to the
majority count). Whatever the numbers come out as is what gets printed.
"""
from __future__ import annotations

import argparse
import time
from collections import Counter

import numpy as np
from imblearn.datasets import make_imbalance
from imblearn.over_sampling import RandomOverSampler
from imblearn.pipeline import Pipeline
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, recall_score
from sklearn.model_selection import train_test_split

from ganaug import GANOversampler, TrainConfig

RARE_CLASSES = (5, 6, 7, 8, 9)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rare", type=int, default=10, help="training samples kept of each of classes 5-9")
    p.add_argument("--gan-steps", type=int, default=2000, help="GAN generator updates")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tiny", action="store_true", help="a few seconds, for smoke tests")
    args = p.parse_args(argv)
    if args.tiny:
        args.rare, args.gan_steps = 5, 5

    X, y = load_digits(return_X_y=True)  # X: (1797, 64) float64 in 0..16, y: (1797,) ints 0..9
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                        random_state=args.seed)
    if args.tiny:
        X_train, y_train, X_test, y_test = X_train[:300], y_train[:300], X_test[:200], y_test[:200]
    X_imb, y_imb = make_imbalance(X_train, y_train, sampling_strategy={c: args.rare for c in RARE_CLASSES},
                                  random_state=args.seed)
    print(f"imbalanced training set: {len(y_imb)} rows, class counts {dict(sorted(Counter(y_imb.tolist()).items()))}")

    config = TrainConfig(arch="mlp", steps=args.gan_steps, width=2 if args.tiny else 32,
                         z_dim=8 if args.tiny else 64, batch_size=64, sample_every=0, checkpoint_every=0,
                         device="cpu")

    def classifier():
        return LogisticRegression(max_iter=5000)

    pipelines = {
        "classifier alone": Pipeline([("clf", classifier())]),
        "RandomOverSampler": Pipeline([("ros", RandomOverSampler(random_state=args.seed)), ("clf", classifier())]),
        "GANOversampler": Pipeline([("gan", GANOversampler(image_shape=(8, 8), value_range=(0, 16), config=config,
                                                           random_state=args.seed)),
                                    ("clf", classifier())]),
    }
    results = {}
    for name, pipe in pipelines.items():
        t0 = time.perf_counter()
        pipe.fit(X_imb, y_imb)
        pred = pipe.predict(X_test)
        rare = np.isin(y_test, RARE_CLASSES)
        results[name] = {
            "balanced_accuracy": float(balanced_accuracy_score(y_test, pred)),
            "rare_class_recall": float(recall_score(y_test[rare], pred[rare], labels=list(RARE_CLASSES),
                                                    average="macro", zero_division=0)),
            "seconds": round(time.perf_counter() - t0, 2),
        }
    gan = pipelines["GANOversampler"].named_steps["gan"]
    print(f"GANOversampler generated {sum(gan.sampling_strategy_.values())} rows "
          f"({args.gan_steps} GAN steps): {dict(sorted((int(k), int(v)) for k, v in gan.sampling_strategy_.items()))}")
    print(f"test set: {len(y_test)} rows")
    print(f"{'pipeline':<20} {'balanced acc':>12} {'rare recall':>12} {'fit+predict s':>14}")
    for name, r in results.items():
        print(f"{name:<20} {r['balanced_accuracy']:>12.3f} {r['rare_class_recall']:>12.3f} {r['seconds']:>14.2f}")
    return results


if __name__ == "__main__":
    main()
