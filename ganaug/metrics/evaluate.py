"""One call for every sample-quality number of a generator, each next to its real-data floor.

Feature-space metrics compare a set against the real *training* split (the reference): the
generated images give the score, the real *test* images give the floor -- what a perfect
generator, drawing fresh images from the data distribution, would score with the same feature
extractor and sample sizes. See :func:`evaluate`.
"""
from __future__ import annotations

import time
from contextlib import nullcontext
from typing import Any

import numpy as np
import torch

from .._checks import check_float, check_int, fail
from .._progress import bar, track
from ..classify.classifier import accuracy
from ..data.datasets import LabelledImages, stratified_subset
from ._featurebank import FeatureBank
from .cas import check_generator, classification_accuracy_score, real_data_accuracy
from .collapse import mode_collapse_report
from .feature_net import feature_extractor
from .features import extract_features
from .fid import FeatureStats, frechet_distance
from .kid import kid
from .prdc import density_coverage, precision_recall

BLOCK = 1024  # images per generation / feature-extraction step


def proportional_labels(counts: list[int], n: int) -> torch.Tensor:
    """``n`` labels, sorted, with class shares as in ``counts`` (largest-remainder rounding)."""
    share = np.asarray(counts, dtype=np.float64) * n / max(1, sum(counts))
    per = np.floor(share).astype(np.int64)
    per[np.argsort(-(share - per), kind="stable")[: n - int(per.sum())]] += 1
    return torch.arange(len(counts)).repeat_interleave(torch.from_numpy(per))


def _stages(progress: bool, total: int):
    if not progress:
        return nullcontext(None)
    return bar(total, desc="ganaug evaluate", unit="stage")


def evaluate(generator: Any, train_data: LabelledImages, test_data: LabelledImages, *, n: int | None = None,
             seed: int = 0, extractor: torch.nn.Module | None = None, feature_epochs: int | None = None,
             feature_width: int = 32, cache_dir=None, kid_subsets: int = 100, kid_subset_size: int = 1000,
             pr_k: int = 3, dc_k: int = 5, cas: bool = True, cas_per_class: int | None = None,
             cas_epochs: int = 10, cas_width: int = 32, collapse_below: float = 0.5, copy_below: float = 0.5,
             device: str | torch.device | None = None, progress: bool = True) -> dict[str, Any]:
    """Every sample-quality number for ``generator``, as a JSON-ready dict (undefined values: None).

    * ``n`` generated images (default: as many as ``test_data``), with class shares as in
      ``test_data``, drawn with ``seed``.
    * Feature space: ``extractor`` or :func:`~ganaug.metrics.feature_extractor` trained on
      ``train_data`` (``seed``, ``feature_epochs``, ``feature_width``, cached in ``cache_dir``).
    * ``metrics``: FID (all training images as the reference, streamed), KID, precision/recall
      (k = ``pr_k``) and density/coverage (k = ``dc_k``), each as ``{"generated", "floor"}``. KID
      and the k-NN metrics use ``m = min(n, len(test), len(train))`` images per set: seeded subsets
      of the training split (the reference), of the generated images and of the test split.
    * ``cas``: classification accuracy score (``cas_per_class`` generated images per class,
      default: the mean training images per class; ``cas_epochs``) and its ceiling
      ``real_accuracy`` (same classifier and schedule on ``train_data``, or on a seeded subset of
      ``cas_per_class`` real images per class when that is fewer). ``cas=False`` skips it.
    * ``mode_collapse``: :func:`~ganaug.metrics.mode_collapse_report` (pixel space).
    """
    t0 = time.time()
    check_generator(generator, test_data)
    check_generator(generator, train_data, "train_data")
    k = train_data.num_classes
    n = len(test_data) if n is None else check_int("n", n, minimum=2 * k,
                                                       fix=f"Pass n >= {2 * k} (2 images per class).")
    seed = check_int("seed", seed)
    pr_k, dc_k = check_int("pr_k", pr_k, minimum=1), check_int("dc_k", dc_k, minimum=1)
    m = min(n, len(test_data), len(train_data))
    if m <= max(pr_k, dc_k):
        fail("n", f"more than {max(pr_k, dc_k)} images in each of the generated, train and test sets (k-NN)",
             f"{m} (n={n}, test={len(test_data)}, train={len(train_data)})", "Use more images or lower pr_k/dc_k.")
    check_float("collapse_below", collapse_below, 0.0)
    check_int("kid_subsets", kid_subsets, minimum=1)
    check_int("kid_subset_size", kid_subset_size, minimum=2)
    if cas:
        check_int("cas_epochs", cas_epochs, minimum=1)
        if cas_per_class is not None:
            check_int("cas_per_class", cas_per_class, minimum=1)
    check_float("copy_below", copy_below, 0.0)
    rng = torch.Generator().manual_seed(seed)
    ref_idx = torch.randperm(len(train_data), generator=rng)[:m].sort().values
    test_idx = torch.randperm(len(test_data), generator=rng)[:m].sort().values

    with _stages(progress, 6 + 2 * bool(cas)) as bar:
        def stage(text: str) -> None:
            if bar is not None:
                bar.set_postfix_str(text)
                bar.update(0 if text.startswith("feature extractor") else 1)

        stage("feature extractor (trained once, then cached)")
        if extractor is None:
            extractor = feature_extractor(train_data, seed, cache_dir, epochs=feature_epochs, width=feature_width,
                                          device=device)
        stage("real features")
        train_stats = FeatureStats("train features")
        ref = FeatureBank()
        starts = range(0, len(train_data), BLOCK)
        if progress:
            starts = track(starts, desc="training-set features", unit="block", leave=False)
        for s in starts:  # streamed: FID statistics plus the reference subset
            f = extract_features(extractor, train_data.images[s:s + BLOCK])
            train_stats.update(f)
            keep = ref_idx[(ref_idx >= s) & (ref_idx < s + BLOCK)] - s
            if keep.numel():
                ref.update(f[keep])
        test_f = extract_features(extractor, test_data.images, progress=progress)
        stage("generating")
        labels = proportional_labels(test_data.class_counts(), n)
        fake, fake_y = _generate(generator, labels, seed, progress)
        fake_f = extract_features(extractor, fake, progress=progress)
        fake_idx = torch.randperm(n, generator=rng)[:m].sort().values
        ref_f = ref.tensor()

        stage("FID / KID")
        mu_r, s_r = train_stats.mean_cov()
        fids = {}
        for name, feats in (("generated", fake_f), ("floor", test_f)):
            stats = FeatureStats(f"{name} features")
            stats.update(feats)
            fids[name] = frechet_distance(mu_r, s_r, *stats.mean_cov())
        kids = {name: kid(ref_f, feats, kid_subsets, min(kid_subset_size, m), seed=seed)
                for name, feats in (("generated", fake_f[fake_idx]), ("floor", test_f[test_idx]))}
        stage("precision / recall / density / coverage")
        pr = {name: precision_recall(ref_f, feats, pr_k) for name, feats in
              (("generated", fake_f[fake_idx]), ("floor", test_f[test_idx]))}
        dc = {name: density_coverage(ref_f, feats, dc_k) for name, feats in
              (("generated", fake_f[fake_idx]), ("floor", test_f[test_idx]))}
        stage("mode collapse / memorisation")
        collapse = mode_collapse_report(fake, fake_y, train_data, test_data, collapse_below=collapse_below,
                                        copy_below=copy_below, device=device if _is_cuda(device) else None,
                                        progress=progress)
        cas_report = None
        if cas:
            per = round(len(train_data) / k) if cas_per_class is None else cas_per_class
            stage("CAS: classifier on generated images")
            cas_report = classification_accuracy_score(generator, test_data, per, cas_epochs, seed,
                                                       width=cas_width, device=device, progress=progress)
            stage("CAS ceiling: classifier on real images")
            # As many real images per class as generated ones (a seeded subset when fewer than all).
            ceiling = (stratified_subset(train_data, per, seed) if per < min(train_data.class_counts())
                       else train_data)
            real = real_data_accuracy(ceiling, test_data, cas_epochs, seed, width=cas_width, device=device,
                                      progress=progress)
            cas_report.update(real_accuracy=real["accuracy"], real_per_class_accuracy=real["per_class_accuracy"],
                              real_n_train=len(ceiling))
        stage("done")

    metrics = {
        "fid": fids,
        "kid": {"generated": kids["generated"][0], "generated_std": kids["generated"][1],
                "floor": kids["floor"][0], "floor_std": kids["floor"][1]},
        "precision": {name: v[0] for name, v in pr.items()}, "recall": {name: v[1] for name, v in pr.items()},
        "density": {name: v[0] for name, v in dc.items()}, "coverage": {name: v[1] for name, v in dc.items()},
    }
    return {
        "dataset": train_data.name, "classes": train_data.classes, "n_train": len(train_data),
        "n_test": len(test_data), "n_generated": n, "n_knn": m, "seed": seed,
        "settings": {"pr_k": pr_k, "dc_k": dc_k, "kid_subsets": kid_subsets,
                     "kid_subset_size": min(kid_subset_size, m)},
        "feature_extractor": {"feature_dim": int(fake_f.shape[1]), "epochs": getattr(extractor, "epochs", None),
                              "cache_file": getattr(extractor, "cache_file", None),
                              "test_accuracy": accuracy(extractor, test_data) if hasattr(extractor, "head") else None},
        "metrics": metrics, "cas": cas_report, "mode_collapse": collapse, "seconds": round(time.time() - t0, 2),
    }


def _is_cuda(device) -> bool:
    return device is not None and torch.device(device).type == "cuda"


def _generate(generator, labels: torch.Tensor, seed: int, progress: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Images for ``labels`` in blocks, each block with its own seed derived from ``seed``."""
    blocks = labels.split(BLOCK)
    seeds = np.random.SeedSequence(seed).generate_state(len(blocks)).tolist()
    it = zip(blocks, seeds)
    if progress:
        it = track(it, total=len(blocks), desc="generating", unit="block", leave=False)
    images, ys = [], []
    for block, s in it:
        x, y = generator.sample(len(block), labels=block, seed=int(s))
        images.append(x.detach().cpu().float())
        ys.append(y.detach().cpu().long())
    return torch.cat(images), torch.cat(ys)


def _fmt(value, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_report(report: dict[str, Any]) -> str:
    """The report of :func:`evaluate` as a plain-text table (what ``ganaug evaluate`` prints)."""
    m = report["metrics"]
    lines = [f"dataset {report['dataset']}: {report['n_generated']} generated images, {report['n_train']} train, "
             f"{report['n_test']} test; k-NN/KID sets of {report['n_knn']}",
             f"feature extractor: SmallCNN, {report['feature_extractor']['feature_dim']} features, "
             f"real test accuracy {_fmt(report['feature_extractor']['test_accuracy'])}",
             "", f"{'metric':<12}{'generated':>12}{'real test (floor)':>20}   better"]
    kid_ = m["kid"]
    rows = [("FID", _fmt(m["fid"]["generated"], 3), _fmt(m["fid"]["floor"], 3), "lower"),
            ("KID", f"{_fmt(kid_['generated'], 5)}", f"{_fmt(kid_['floor'], 5)}", "lower"),
            ("precision", _fmt(m["precision"]["generated"]), _fmt(m["precision"]["floor"]), "higher"),
            ("recall", _fmt(m["recall"]["generated"]), _fmt(m["recall"]["floor"]), "higher"),
            ("density", _fmt(m["density"]["generated"]), _fmt(m["density"]["floor"]), "about 1"),
            ("coverage", _fmt(m["coverage"]["generated"]), _fmt(m["coverage"]["floor"]), "higher")]
    cas = report.get("cas")
    if cas:
        rows.append(("CAS", _fmt(cas["accuracy"]), _fmt(cas["real_accuracy"]), "higher (right: trained on real)"))
    lines += [f"{a:<12}{b:>12}{c:>20}   {d}" for a, b, c, d in rows]
    mc = report["mode_collapse"]
    lines += ["", f"{'class':<10}{'CAS':>7}{'real':>7}{'diversity':>11}{'nearest':>9}{'copies':>8}  flags"]
    for c, row in enumerate(mc["per_class"]):
        acc = _fmt(cas["per_class_accuracy"][c], 3) if cas else "-"
        real = _fmt(cas["real_per_class_accuracy"][c], 3) if cas else "-"
        flags = ", ".join(f for f, on in (("collapsed", row["collapsed"]), ("copying", row["copying"])) if on)
        lines.append(f"{row['class'][:10]:<10}{acc:>7}{real:>7}{_fmt(row['diversity_ratio'], 2):>11}"
                     f"{_fmt(row['nearest_ratio'], 2):>9}{_fmt(row['near_copy_fraction'], 2):>8}  {flags}")
    lines.append("diversity, nearest: generated / real test (about 1 is healthy); copies: share of generated "
                 "images closer to a training image than 95% of real test images (about 0.05 is healthy)")
    return "\n".join(lines)
