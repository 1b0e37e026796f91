"""One cell of the downstream benchmark: a labelled subset and a seed, its GANs and one classifier per method."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import torch

from .._checks import fail
from ..classify.classifier import train_classifier
from ..data.datasets import LabelledImages
from ..data.transforms import digit_augmentation
from ..gan.checkpoint import load_generator
from .config import GAN_METHODS, base_method, gan_kind, share_of


class Cell:
    """One (subset, seed): its GANs (trained once, lazily), and one classifier per method and share.

    Semi-supervised cells also hold ``unlabelled`` (M, C, H, W), the pool without labels; their one
    classifier schedule is sized by all the training images the cell has, labelled plus pool.
    ``progress``: a bar for each GAN and classifier training (pseudo-labelling rounds included).
    """

    def __init__(self, cfg, subset, evaluation, selection, seed, device, gan_dir: Path | None,
                 unlabelled: torch.Tensor | None = None, extractor: Callable[[], Any] | None = None,
                 pool_targets: torch.Tensor | None = None, progress: bool = False):
        self.cfg, self.subset, self.evaluation, self.selection = cfg, subset, evaluation, selection
        self.seed, self.device, self.gan_dir, self.unlabelled = seed, device, gan_dir, unlabelled
        self.pool_targets = pool_targets  # (M,) the pool's true labels: diagnostics only, never trained on
        self.extractor = extractor  # () -> the feature extractor of the semi GAN's recall / coverage
        self.progress = progress
        n_train = len(subset) + (len(unlabelled) if unlabelled is not None else 0)
        self.clf_steps = cfg.clf_steps or cfg.sized_steps(n_train)
        self._union: LabelledImages | None = None
        self._gens: dict[str, Any] = {}
        self._info: dict[str, dict[str, Any]] = {}
        self._models: dict[str, Any] = {}

    def _train(self, data, steps: int | None = None, aug: bool | str = False, **kw):
        # aug=True: augment `data` (a LabelledImages) with the configured backend; aug="batch": only the
        # torch backend's batch augmentation (the albumentations one is already in data's transform).
        cfg = self.cfg
        if aug and cfg.augmentation == "torch":
            from ..data.batch_augment import DigitAugment

            kw["augment"] = DigitAugment(self.subset.image_shape[1], self.seed)
        elif aug is True:
            data = self._augmented(data)
        return train_classifier(data, steps=steps or self.clf_steps, seed=self.seed, device=self.device,
                                batch_size=cfg.clf_batch, lr=cfg.clf_lr, width=cfg.clf_width,
                                lr_schedule=cfg.clf_schedule, num_classes=self.subset.num_classes,
                                progress=self.progress, **kw)

    def run(self, label: str) -> dict[str, Any]:
        """Train the classifier of ``label``; its accuracies and the GAN it used."""
        method, share = base_method(label), share_of(label)
        if method == "real":
            model = self.model("real")
        elif method == "real+aug":
            model = self.model("real+aug")
        elif method in ("cas", "cas-sgan", "self-train"):
            model = self.model("cas-gan" if method == "cas" else method)
        elif method == "pretrain-gan+aug":
            half = self.clf_steps // 2
            synth = self._synthetic("gan", len(self.subset), transform=self._item_augmentation())
            model = self._train(synth, steps=half, resample_each_epoch=True, aug="batch")
            model = self._train(self.subset, steps=self.clf_steps - half, init=model.train(), aug=True)
        else:
            model = self._train(self._mixed(method, float(share)), resample_each_epoch=True,
                                aug="batch" if "+aug" in method else False)
        row = self.score(model)
        if method in GAN_METHODS and self.gan_dir is not None:  # the grid records each GAN's quality
            info = self.gan_info(gan_kind(method))
            row.update(gan_steps=info["steps"], gan_wall_s=info["wall_s"], gan_cas=info["cas"],
                       gan_recall=info.get("recall"), gan_coverage=info.get("coverage"))
        return row

    def score(self, model) -> dict[str, Any]:
        from sklearn.metrics import balanced_accuracy_score  # mean recall over the classes in target

        from ..classify.classifier import predict_proba

        pred = predict_proba(model, self.evaluation.images).argmax(dim=1)
        target = self.evaluation.targets
        row = {"accuracy": float((pred == target).double().mean()),
               "balanced_accuracy": float(balanced_accuracy_score(target.numpy(), pred.numpy()))}
        if self.selection is not None:
            sel = predict_proba(model, self.selection.images).argmax(dim=1)
            row["val_accuracy"] = float((sel == self.selection.targets).double().mean())
        return row

    def model(self, name: str):
        # real / real+aug models are reused (the filter and the teacher); deterministic on CPU, so a
        # resumed grid re-creates exactly the model used before.
        # "cas-KIND": trained on KIND's images only (its classification accuracy score).
        if name not in self._models:
            if name.startswith("cas-"):
                self._models[name] = self._train(self._synthetic(name[4:], len(self.subset)), resample_each_epoch=True)
            elif name == "self-train":
                union = self.union()  # may hand over the last pseudo-labelling round's classifier
                if name not in self._models:
                    self._models[name] = self._train(union, aug=True)
            else:
                self._models[name] = self._train(self.subset, aug=name != "real")
        return self._models[name]

    def _augmentation(self):
        """The classical augmentation as a per-image transform (torch backend: DigitAugment on one image)."""
        if self.cfg.augmentation == "torch":
            from ..data.batch_augment import DigitAugment

            return DigitAugment(self.subset.image_shape[1], self.seed)
        from ..data.transforms import AlbumentationsAdapter

        return AlbumentationsAdapter(digit_augmentation(self.subset.image_shape[1], self.seed))

    def _item_augmentation(self):
        """The transform of the data path: albumentations' pipeline, or None (torch augments whole batches)."""
        return self._augmentation() if self.cfg.augmentation == "albumentations" else None

    def _augmented(self, data: LabelledImages) -> LabelledImages:
        return LabelledImages(data.images, data.targets, data.classes, transform=self._augmentation(), name=data.name)

    def _cache_mb(self, n_items: int) -> float:
        # The whole per-epoch synthetic pool stays cached: shuffled access would otherwise regenerate blocks.
        per_item = 4 * int(torch.tensor(self.subset.image_shape).prod())
        return max(64.0, 1.25 * (n_items + 256) * per_item / 2**20)

    def _synthetic(self, kind: str, n: int, **kw):
        from ..synth.synthetic import SyntheticDataset

        return SyntheticDataset(self.generator(kind), size=max(n, 1), seed=self.seed,
                                class_weights=[1.0] * self.subset.num_classes, cache_mb=self._cache_mb(n), **kw)

    def _mixed(self, method: str, share: float):
        from ..synth.filtering import ConfidenceFilter
        from ..synth.mixing import MixedDataset

        real = self.union() if method.startswith("self-train") else self.subset
        n_synth = round(len(real) * share / (1.0 - share))
        kind = gan_kind(method)
        kw: dict[str, Any] = {}
        if method == "real+gan-filtered":
            kw = dict(quality_filter=ConfidenceFilter(self.model("real"), threshold=None,
                                                      keep_fraction=self.cfg.filter_keep), max_tries=200)
        elif method.endswith("-trunc"):
            kw = dict(truncation=self.cfg.truncation)
        synth = self._synthetic(kind, n_synth, **kw)
        # "+aug": one augmentation pipeline for both sides, applied by the mixed dataset.
        transform = self._item_augmentation() if "+aug" in method else None
        teacher = self.model("real+aug") if method == "real+gan+aug-soft" else None
        return MixedDataset(real, synth, synthetic_share=share, transform=transform, teacher=teacher,
                            teacher_weight=self.cfg.teacher_weight)

    def union(self) -> LabelledImages:
        """The labelled subset + the pool images pseudo-labelled with confidence (semi mode), computed once.

        Stored in ``gan_dir/pseudo/pseudo_labels.pt`` (with per-round counts in ``info.json``), so a rerun
        or another process sharing the results folder reuses them instead of re-training the labellers.
        """
        if self._union is not None:
            return self._union
        from ..classify.semi import load_pseudo_labels, pseudo_label, save_pseudo_labels

        if self.unlabelled is None:
            fail("unlabelled", "an unlabelled pool for the semi-supervised methods", None,
                 "Run them with unlabelled='rest'.")
        kwargs = self.cfg.pseudo_label_kwargs(self.seed, str(self.device))
        path = self._kind_dir("pseudo") / "pseudo_labels.pt" if self.gan_dir is not None else None
        if path is not None and path.exists():
            self._union = load_pseudo_labels(
                path, self.subset, self.unlabelled, kwargs, options="benchmark settings (semi_threshold, semi_rounds, "
                "clf_steps, clf_width, clf_batch)", fix=f"Point --out at a new folder, or delete {path.parent}.")
            return self._union
        t0 = time.monotonic()
        result = pseudo_label(self.subset, self.unlabelled, **kwargs, progress=self.progress)
        if path is not None:
            save_pseudo_labels(path, result, self.subset, self.unlabelled, kwargs)
            info = {"n_labelled": result.n_labelled, "n_pool": len(self.unlabelled), "n_pseudo": result.n_pseudo,
                    "rounds": result.rounds, "wall_s": round(time.monotonic() - t0, 1)}
            if self.pool_targets is not None and result.n_pseudo:
                right = result.pseudo.targets == self.pool_targets[result.pool_index]  # (P,)
                info["pseudo_label_accuracy"] = float(right.double().mean())
            (path.parent / "info.json").write_text(json.dumps(info, indent=1))
        self._union = result.data
        # The last round's classifier trained on this union exactly as model("self-train") would (same
        # data, augmentation, seed, width, batch, Adam 1e-3 with cosine decay), so it is reused when its
        # step count is the cell's: one classifier fewer per cell.
        cfg = self.cfg
        last_round_steps = kwargs["steps"] or cfg.sized_steps(len(result.data))
        if (cfg.clf_lr, cfg.clf_schedule) == (1e-3, "cosine") and last_round_steps == self.clf_steps:
            self._models.setdefault("self-train", result.classifier)
        return self._union

    def gan_info(self, kind: str) -> dict[str, Any]:
        """Steps, wall time and CAS on the evaluation split of the cell's ``kind`` GAN ("gan" / "augan")."""
        if "cas" in self._info.get(kind, {}):
            return self._info[kind]
        self.generator(kind)
        info = self._info.setdefault(kind, {"steps": None, "wall_s": None})
        path = self._kind_dir(kind) / "info.json" if self.gan_dir is not None else None
        stored = json.loads(path.read_text()) if path is not None and path.exists() else {}
        info.update(steps=stored.get("steps", info["steps"]), wall_s=stored.get("wall_s", info["wall_s"]))
        key = self.cfg.clf_setting()
        cas = stored.get("cas", {}).get(key)
        if cas is None:
            cas = self.score(self.model(f"cas-{kind}"))["accuracy"]
            if path is not None:
                stored.setdefault("cas", {})[key] = cas
                path.write_text(json.dumps({**stored, "steps": info["steps"], "wall_s": info["wall_s"]}))
        info["cas"] = cas
        if kind == "sgan" and self.extractor is not None:  # the semi GAN's variety, next to its CAS
            if "recall" not in stored:
                stored.update(self.recall_coverage(kind))
                if path is not None:
                    path.write_text(json.dumps({**stored, "steps": info["steps"], "wall_s": info["wall_s"]}))
            info.update(recall=stored["recall"], coverage=stored["coverage"])
        return info

    def recall_coverage(self, kind: str) -> dict[str, float]:
        """Recall (k=3, Kynkaanniemi et al. 2019) and coverage (k=5, Naeem et al. 2020) of the ``kind`` GAN.

        Real set: the evaluation split; generated set: as many images, with its class shares (seeded by the
        cell's seed); features: ``self.extractor()`` (a SmallCNN trained on the dataset's training split, as
        in ``ganaug evaluate``). So the scores compare between cells and methods, not with other set sizes.
        """
        from ..metrics.evaluate import _generate, proportional_labels
        from ..metrics.features import extract_features
        from ..metrics.prdc import density_coverage, precision_recall

        model = self.extractor()
        labels = proportional_labels(self.evaluation.class_counts(), len(self.evaluation))
        fake, _ = _generate(self.generator(kind), labels, self.seed, progress=False)  # (N, C, H, W)
        real_f, fake_f = extract_features(model, self.evaluation.images), extract_features(model, fake)  # (N, F)
        return {"recall": precision_recall(real_f, fake_f, 3)[1], "coverage": density_coverage(real_f, fake_f, 5)[1]}

    def _kind_dir(self, kind: str) -> Path | None:
        # What depends on the augmentation backend (the augmented-copies GAN, the pseudo-labels and the
        # semi GAN trained on them) is kept apart per backend; the plain GAN is shared.
        if self.gan_dir is None:
            return None
        torch_aug = self.cfg.augmentation == "torch" and kind in ("augan", "sgan", "pseudo")
        return self.gan_dir / (f"{kind}-torch" if torch_aug else kind)

    def generator(self, kind: str = "gan"):
        if self._gens.get(kind) is not None:
            return self._gens[kind]
        from ..gan.training import fit

        cfg = self.cfg
        data = self.subset
        if kind == "augan":  # the same augmentation as the classifier's, in the GAN's data path
            from ..data.transforms import augmented_copies

            data = augmented_copies(self.subset, self._augmentation(), cfg.gan_aug_copies)
        elif kind == "sgan":  # the semi GAN: labelled + pseudo-labelled images (the pseudo-labels of self-train)
            data = self.union()
        gan_dir = self._kind_dir(kind)
        if gan_dir is not None and (gan_dir / "generator.pt").exists():
            self._gens[kind] = load_generator(gan_dir / "generator.pt", device="cpu")
            return self._gens[kind]
        # Steps are sized by the real images: augmented copies add variety, not new images; pseudo-labelled
        # pool images are real images.
        tcfg = cfg.train_config(len(data) if kind == "sgan" else len(self.subset), self.seed, str(self.device))
        resume = gan_dir is not None and (gan_dir / "checkpoint.pt").exists()
        steps: list[int] = []
        t0 = time.monotonic()
        gen, _ = fit(data, tcfg, out_dir=gan_dir, resume=resume, progress=self.progress,
                     hooks=[lambda st: steps.append(st.step)])
        info = {"steps": steps[-1] if steps else None, "wall_s": round(time.monotonic() - t0, 1)}
        self._info[kind] = info
        if gan_dir is not None:
            (gan_dir / "info.json").write_text(json.dumps(info))
        self._gens[kind] = gen.to("cpu")
        return self._gens[kind]
