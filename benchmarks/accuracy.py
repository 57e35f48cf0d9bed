"""Accuracy of handgrad's recipes on MNIST and Fashion-MNIST, averaged over seeds.

    python benchmarks/accuracy.py                    # every recipe, 3 seeds, Markdown table
    python benchmarks/accuracy.py lesson mnist-best  # some recipes
    python benchmarks/accuracy.py --seeds 1 --set dropout=0.3 mnist-best   # try a variation

Also trains scikit-learn's MLPClassifier(hidden_layer_sizes=(256,), solver="adam")
for as many epochs as the fashion-adam recipe, in the same run, and compares.
Targets (issue 5) are printed beside the measurements. Seconds count the training
steps only (handgrad's history; scikit-learn's fit), not loading or validation.
"""

import argparse
import json
import sys
import time
import warnings

import numpy as np

from handgrad.recipes import resolve, run_recipe

TARGETS = {"lesson": 95.5, "lesson-momentum": 97.8, "lesson-deep": 97.5, "mnist-best": 98.5,
           "fashion-adam": 88.0, "fashion-best": 89.5}


def sklearn_fashion(seed, epochs):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    from handgrad.data import load_fashion_mnist
    X, y, X_test, y_test = load_fashion_mnist()
    # scikit-learn's defaults (batch 200, lr 1e-3, alpha 1e-4); its stopping rule needs
    # 10 epochs without progress, so it cannot stop before max_iter = 10 epochs
    clf = MLPClassifier(hidden_layer_sizes=(256,), solver="adam", max_iter=epochs,
                        random_state=seed)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    return 100 * clf.score(X_test, y_test), time.perf_counter() - start


def parse_value(v):
    try:
        return json.loads(v)
    except json.JSONDecodeError:
        return v


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipes", nargs="*", default=list(TARGETS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a recipe setting (JSON value), e.g. layers=[784,512,10]")
    parser.add_argument("--no-sklearn", action="store_true")
    args = parser.parse_args(argv)
    overrides = dict(kv.split("=", 1) for kv in args.set)
    overrides = {k: parse_value(v) for k, v in overrides.items()}

    rows = []
    for name in args.recipes:
        accs, secs = [], []
        for seed in range(args.seeds):
            recipe = resolve(name, **overrides, seed=seed)
            run = run_recipe(recipe)
            secs.append(sum(run.history.column("seconds")))      # training steps only
            accs.append(100 * run.test_accuracy)
            print(f"{name} seed {seed}: {accs[-1]:.2f}% in {secs[-1]:.0f}s "
                  f"({run.model.count_params():,} parameters)", flush=True)
        rows.append((name, recipe, accs, secs, run.model.count_params()))
        if name == "fashion-adam" and not args.no_sklearn:
            sk = [sklearn_fashion(seed, recipe["epochs"]) for seed in range(args.seeds)]
            for seed, (acc, sec) in enumerate(sk):
                print(f"scikit-learn MLPClassifier(256, adam) seed {seed}: {acc:.2f}% "
                      f"in {sec:.0f}s", flush=True)
            rows.append(("sklearn MLPClassifier(256,) adam", None, [a for a, _ in sk],
                         [s for _, s in sk], None))

    print("\n| recipe | settings | params | test accuracy (mean ± sd) | seeds | expected at least "
          "| training seconds / run |")
    print("|---|---|---|---|---|---|---|")
    for name, recipe, accs, secs, n_params in rows:
        if recipe is None:
            settings = ("same data and epochs; scikit-learn's defaults "
                        "(batch 200, lr 1e-3, alpha 1e-4)")
        else:
            settings = (f"{recipe['layers']}, {recipe['optimizer']} lr {recipe['lr']}"
                        + (f" mom {recipe['momentum']}" if recipe["momentum"] else "")
                        + (" nesterov" if recipe["nesterov"] else "")
                        + (f" wd {recipe['weight_decay']}" if recipe["weight_decay"] else "")
                        + (f" dropout {recipe['dropout']}" if recipe["dropout"] else "")
                        + (f" norm {recipe['norm']}" if recipe["norm"] else "")
                        + (f", {recipe['schedule']}" if recipe["schedule"] else "")
                        + f", batch {recipe['batch_size']}, {recipe['epochs']} epochs")
        target = TARGETS.get(name)
        mark = "" if target is None else (" ✓" if np.mean(accs) >= target else " ✗")
        acc = f"{np.mean(accs):.2f} ± {np.std(accs):.2f}"
        print(f"| {name} | {settings} | {n_params or '':,} | {acc}{mark} | {len(accs)} "
              f"| {target or ''} | {np.mean(secs):.0f} |"
              if n_params else
              f"| {name} | {settings} | | {acc} | {len(accs)} | | {np.mean(secs):.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
