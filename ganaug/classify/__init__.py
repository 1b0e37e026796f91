"""The small classifier (downstream model, filter, feature net) and pseudo-labelling with it."""
from .classifier import LR_SCHEDULES, SmallCNN, accuracy, clf_steps_for, predict_proba, train_classifier
from .semi import PseudoLabels, pseudo_label

__all__ = ["LR_SCHEDULES", "PseudoLabels", "SmallCNN", "accuracy", "clf_steps_for", "predict_proba", "pseudo_label",
           "train_classifier"]
