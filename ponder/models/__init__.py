"""Chat models behind one interface, a registry of names, and the FLOPs estimate."""

from ponder.models.base import ChatModel, Completion, Message, ModelInfo, TokenLogprob
from ponder.models.registry import available_models, load_model

__all__ = ["ChatModel", "Completion", "Message", "ModelInfo", "TokenLogprob", "available_models", "load_model"]
