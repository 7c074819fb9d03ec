"""Publishing to the Hub: datasets, models and their cards.

>>> from hub_tools.hub import push_dataset, push_model, ModelCardConfig  # doctest: +SKIP
"""

from hub_tools.hub.cards import ModelCardConfig, render_model_card
from hub_tools.hub.publish import PushResult, push_dataset, push_model

__all__ = ["ModelCardConfig", "PushResult", "push_dataset", "push_model", "render_model_card"]
