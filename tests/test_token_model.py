"""The on-prem token model: labels, shapes, spans, saving, training and its place in the
detector."""

import json

import numpy as np
import pytest

from hybrid_pipelines.datasets import GoldSpan, LabelledText, load_labelled
from hybrid_pipelines.evaluation import evaluate_detection, split_records
from hybrid_pipelines.pii import Finding, PiiDetector
from hybrid_pipelines.token_model import (
    ENTITY_CLASSES,
    HEADER_FILE,
    SHAPE_FEATURES,
    WEIGHTS_FILE,
    TokenModel,
    TrainingSettings,
    spans_from_words,
    token_label,
    token_shape,
    train_token_model,
)

TINY = TrainingSettings(layers=1, epochs=1, batch_size=4, max_tokens=64, stride=16)


def _probabilities(label: str, confidence: float = 0.9) -> np.ndarray:
    values = np.full(len(ENTITY_CLASSES), (1 - confidence) / (len(ENTITY_CLASSES) - 1))
    values[ENTITY_CLASSES.index(label)] = confidence
    return values


def test_token_label_maps_gold_labels_and_ignores_special_tokens():
    spans = [GoldSpan(4, 10, "NOM"), GoldSpan(11, 17, "ville"), GoldSpan(20, 30, "SECU")]

    assert token_label((4, 10), spans) == ENTITY_CLASSES.index("PERSON")
    assert token_label((11, 14), spans) == ENTITY_CLASSES.index("LOCATION")
    assert token_label((20, 22), spans) == ENTITY_CLASSES.index("OTHER")
    assert token_label((0, 2), spans) == ENTITY_CLASSES.index("O")
    # A token mostly outside a span is not labelled with it.
    assert token_label((9, 13), [GoldSpan(4, 10, "NOM")]) == ENTITY_CLASSES.index("O")
    assert token_label((0, 0), spans) == -100


def test_token_shape_reads_casing_from_the_original_text():
    text = "Vu le 3 mars.\nMme DUPONT Hélène"
    offsets = [(0, 2), (3, 5), (6, 7), (8, 12), (12, 13), (14, 17), (18, 24), (25, 31)]
    shapes = {
        text[start:end]: token_shape(text, offsets, index)
        for index, (start, end) in enumerate(offsets)
    }
    feature = {name: index for index, name in enumerate(SHAPE_FEATURES)}

    assert shapes["DUPONT"][feature["word_all_caps"]] == 1.0
    assert shapes["Hélène"][feature["word_title_case"]] == 1.0
    assert shapes["Hélène"][feature["word_all_caps"]] == 0.0
    assert shapes["3"][feature["has_digit"]] == 1.0
    assert shapes["Mme"][feature["line_start"]] == 1.0
    assert shapes["le"][feature["line_start"]] == 0.0
    assert shapes["."][feature["glued_to_previous"]] == 1.0
    assert shapes["Vu"][feature["after_sentence_end"]] == 1.0


def test_words_of_one_class_join_on_spaces_but_not_across_lines():
    text = "Jean Dupont\nParis, le 3 mars"
    words = {
        (0, 4): _probabilities("PERSON"),
        (5, 11): _probabilities("PERSON"),
        (12, 17): _probabilities("LOCATION"),
        (17, 18): _probabilities("O"),
        (22, 23): _probabilities("OTHER"),
        (24, 28): _probabilities("O"),
    }

    findings = spans_from_words(text, words, threshold=0.5)

    assert [(text[item.start : item.end], item.entity_type) for item in findings] == [
        ("Jean Dupont", "PERSON"),
        ("Paris", "LOCATION"),
    ]
    # A word more likely outside any entity than inside one is not emitted.
    unsure = np.zeros(len(ENTITY_CLASSES))
    unsure[ENTITY_CLASSES.index("O")], unsure[ENTITY_CLASSES.index("PERSON")] = 0.6, 0.4
    assert spans_from_words(text, {(0, 4): unsure}, 0.5) == []


LABELLED = [
    LabelledText(
        str(index),
        f"Patient {name} seen in {city} on Monday.",
        "en",
        [
            GoldSpan(8, 8 + len(name), "PERSON"),
            GoldSpan(17 + len(name), 17 + len(name) + len(city), "LOCATION"),
        ],
    )
    for index, (name, city) in enumerate(
        [("Maria Lopez", "Denver"), ("John Smith", "Austin"), ("Ana Diaz", "Boston")] * 4
    )
]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    model = train_token_model(LABELLED, TINY, dataset_hashes=["0" * 64])
    folder = model.save(tmp_path_factory.mktemp("token-model"))
    return model, folder


def test_saved_model_reloads_with_identical_predictions_and_no_text(tiny_model):
    model, folder = tiny_model
    texts = ["Patient Ana Lopez seen in Denver.", "Nothing personal here."]

    reloaded = TokenModel.load(folder, quantize=False)

    assert reloaded.predict(texts, ["en", "en"]) == model.predict(texts, ["en", "en"])
    assert reloaded.languages == ("en",)
    header = (folder / HEADER_FILE).read_text()
    assert json.loads(header)["summary"]["texts"] == len(LABELLED)
    for record in LABELLED:
        for span in record.spans:
            assert record.text[span.start : span.end] not in header


def test_altered_or_missing_weights_are_a_clear_error(tiny_model, tmp_path):
    _, folder = tiny_model
    altered = tmp_path / "altered"
    altered.mkdir()
    (altered / HEADER_FILE).write_bytes((folder / HEADER_FILE).read_bytes())
    weights = bytearray((folder / WEIGHTS_FILE).read_bytes())
    weights[-1] ^= 0xFF
    (altered / WEIGHTS_FILE).write_bytes(bytes(weights))

    with pytest.raises(ValueError, match="checksum"):
        TokenModel.load(altered)
    with pytest.raises(ValueError, match="not a token model"):
        TokenModel.load(tmp_path / "missing")


def test_training_refuses_an_empty_set():
    with pytest.raises(ValueError, match="no labelled texts"):
        train_token_model([], TINY)


class FixedModel:
    """Stands in for a trained model to test how the detector combines its findings."""

    languages = ("en",)

    def predict(self, texts, languages):
        return [
            [Finding(text.index("Maria"), text.index("Maria") + 11, "PERSON", 0.99)]
            if "Maria" in text
            else []
            for text in texts
        ]


def test_model_findings_replace_spacy_names_and_keep_the_rules():
    text = "Mail Maria Lopez at maria.lopez@example.com, she works with Tom Baker at Microsoft."
    with_rules = PiiDetector(languages=["en"])
    with_model = PiiDetector(languages=["en"], token_model=FixedModel())

    spacy_only = {text[item.start : item.end] for item in with_rules.detect(text, "en")}
    findings = with_model.detect(text, "en")

    # spaCy's names, which the (fixed) model does not give, are gone with the model.
    assert {"Tom Baker", "Microsoft"} <= spacy_only
    by_value = {text[item.start : item.end]: item.entity_type for item in findings}
    assert by_value == {"Maria Lopez": "PERSON", "maria.lopez@example.com": "EMAIL_ADDRESS"}
    assert with_model.analyzer_for("en").nlp_engine.nlp["en"].pipe_names == [
        "tok2vec",
        "tagger",
        "attribute_ruler",
        "lemmatizer",
    ]


@pytest.mark.slow
def test_fine_tuning_learns_names_it_never_saw(shared_data):
    """Trained on 400 development records, the model alone finds most names of 150
    held-out records: a model that learnt nothing finds none."""
    records = load_labelled(shared_data / "pii_en_synthetic.json")
    train = split_records(records, "dev")[:400]
    held_out = split_records(records, "heldout")[:150]
    settings = TrainingSettings(layers=2, epochs=2, max_tokens=96)

    model = train_token_model(train, settings)

    class ModelAlone:
        def detect_batch(self, texts, languages):
            return model.predict(texts, languages)

    report = evaluate_detection(held_out, ModelAlone())
    assert report.counts("PERSON").recall >= 0.8
    assert report.over_masking <= 0.1


def _labelled_file(folder) -> str:
    path = folder / "labelled.json"
    path.write_text(
        json.dumps(
            [
                {
                    "full_text": record.text,
                    "spans": [
                        {
                            "entity_type": span.label,
                            "entity_value": record.text[span.start : span.end],
                            "start_position": span.start,
                            "end_position": span.end,
                        }
                        for span in record.spans
                    ],
                }
                for record in LABELLED
            ]
        )
    )
    return str(path)


def test_train_detector_and_evaluate_with_the_model_from_the_command_line(tmp_path, capsys):
    from hybrid_pipelines import cli

    dataset = _labelled_file(tmp_path)
    model_folder = tmp_path / "model"

    trained = cli.main(
        [
            "train-detector",
            "--dataset",
            dataset,
            "--out",
            str(model_folder),
            "--epochs",
            "1",
            "--layers",
            "1",
        ]
    )
    training_output = capsys.readouterr().out
    evaluated = cli.main(
        [
            "evaluate",
            "--dataset",
            dataset,
            "--split",
            "heldout",
            "--json",
            "--token-model",
            str(model_folder),
        ]
    )
    report = json.loads(capsys.readouterr().out)

    assert trained == 0 and evaluated == 0
    assert (model_folder / HEADER_FILE).is_file()
    assert '"texts": 9' in training_output  # 12 records, index % 5 == 0 left out
    assert "Maria" not in training_output
    assert report["token_model"]["languages"] == ["en"]
    assert report["detection"]["texts"] == 3


def test_train_detector_refuses_a_routing_csv(tmp_path, capsys):
    from hybrid_pipelines import cli

    csv_file = tmp_path / "dlp.csv"
    csv_file.write_text(
        "Example ID,Category,Point,Type,Subtype,Example,Explanation\n"
        "1,c,p,Positive,Direct,my pin is 1234,x\n"
    )

    code = cli.main(["train-detector", "--dataset", str(csv_file), "--out", str(tmp_path / "m")])

    assert code == 2
    assert "not a span-labelled set" in capsys.readouterr().out


@pytest.mark.slow
def test_token_model_asset_trains_on_prem_and_quality_scores_the_held_out_split(tmp_path):
    import dagster as dg

    from assets.detection import pii_token_model
    from assets.quality import detection_quality
    from resources.evaluation import EvaluationDatasets, TokenModelFolder

    resources = {
        "evaluation": EvaluationDatasets(paths=[_labelled_file(tmp_path)]),
        "token_model": TokenModelFolder(path=str(tmp_path / "onprem" / "token_model")),
    }
    instance = dg.DagsterInstance.ephemeral()

    trained = dg.materialize(
        [pii_token_model],
        instance=instance,
        resources=resources,
        run_config={"ops": {"pii_token_model": {"config": {"epochs": 1, "layers": 1}}}},
    )
    scored = dg.materialize([detection_quality], instance=instance, resources=resources)

    assert resources["token_model"].current() is not None
    [training] = trained.get_asset_materialization_events()
    assert training.materialization.metadata["texts"].value == 9
    [quality] = scored.get_asset_materialization_events()
    assert quality.materialization.metadata["split"].value == "heldout"
    assert quality.materialization.metadata["token_model"].value == "yes"
    assert quality.materialization.metadata["texts"].value == 3
    logs = json.dumps([str(entry.dagster_event) for entry in instance.all_logs(trained.run_id)])
    assert "Maria Lopez" not in logs and "Denver" not in logs


@pytest.mark.slow
def test_the_edge_job_detects_with_the_token_model_on_ray_workers(
    tiny_model, tmp_path, monkeypatch
):
    import shutil

    import dagster as dg

    from deployments import edge
    from deployments.settings import load_settings
    from hybrid_pipelines.cli import prepare_home

    _, folder = tiny_model
    inbox, home = tmp_path / "inbox", tmp_path / "home"
    (inbox / "2025-03-01").mkdir(parents=True)
    (inbox / "2025-03-01" / "mail.jsonl").write_text(
        '{"text": "Patient Ana Lopez seen in Denver, call 06 12 22 33 44.", "label": "sensitive"}\n'
    )
    for variable in ("HYBRID_HOME", "DAGSTER_HOME", "HYBRID_INBOX", "HYBRID_TOKEN_MODEL"):
        monkeypatch.setenv(variable, "")
    prepare_home(home, inbox)
    settings = load_settings(home, inbox)
    shutil.copytree(folder, settings.token_model_dir)

    result = (
        edge.build_definitions(settings)
        .resolve_job_def("edge_ingest_job")
        .execute_in_process(instance=dg.DagsterInstance.get(), partition_key="2025-03-01")
    )

    assert result.success
    [detection] = [
        event
        for event in result.get_asset_materialization_events()
        if event.asset_key == dg.AssetKey("pii_findings")
    ]
    metadata = detection.materialization.metadata
    assert metadata["token_model"].value == "yes"
    assert metadata["findings"].value >= 1


def test_a_token_model_folder_named_explicitly_must_hold_a_model(tmp_path, monkeypatch):
    import dagster as dg

    from deployments.resources import edge_resources
    from deployments.settings import load_settings
    from resources.evaluation import TokenModelFolder

    missing = tmp_path / "typo" / "token_model"
    monkeypatch.setenv("HYBRID_TOKEN_MODEL", str(missing))
    named = edge_resources(load_settings(tmp_path / "home"))["token_model"]
    monkeypatch.delenv("HYBRID_TOKEN_MODEL")
    default = edge_resources(load_settings(tmp_path / "home"))["token_model"]

    assert named.required and named.folder() == missing
    with pytest.raises(dg.Failure, match="HYBRID_TOKEN_MODEL"):
        named.current()
    assert not default.required and default.current() is None
    assert TokenModelFolder(path=str(missing)).current() is None


def test_symbols_glued_to_a_word_do_not_hide_it_from_the_tokenizer():
    from hybrid_pipelines.token_model import _tokenizer, encode_windows

    text = "Thanks 🙏Sarah, see you in 📍Chicago 👤"
    [window] = encode_windows(_tokenizer(), [text], ["en"], TINY)

    pieces = [text[start:end] for start, end in window.offsets if end > start]
    assert "Sarah" in pieces and "Chicago" in pieces
    assert "[UNK]" not in _tokenizer().convert_ids_to_tokens(window.input_ids)


def test_shapes_of_a_text_without_spaces_match_token_by_token():
    from hybrid_pipelines.token_model import TextLayout

    text = "ref=ABC,Jean.DUPONT;x\nMme:Marie"
    offsets = [(0, 3), (3, 4), (4, 7), (7, 8), (8, 12), (12, 13), (13, 19), (22, 25)]
    layout = TextLayout(text)
    feature = {name: index for index, name in enumerate(SHAPE_FEATURES)}

    shapes = [token_shape(text, offsets, index, layout) for index in range(len(offsets))]

    assert shapes == [token_shape(text, offsets, index) for index in range(len(offsets))]
    assert shapes[0][feature["line_start"]] == 1.0 and shapes[7][feature["line_start"]] == 1.0
    assert shapes[4][feature["glued_to_previous"]] == 1.0
    assert shapes[6][feature["after_sentence_end"]] == 1.0  # "DUPONT" right after "."


@pytest.mark.parametrize(
    ("header_change", "message"),
    [
        (lambda header: [header], "unsupported token model format"),
        (
            lambda header: {**header, "settings": {**header["settings"], "dropout": 0.2}},
            "unreadable token model",
        ),
        (
            lambda header: {k: v for k, v in header.items() if k != "settings"},
            "unreadable token model",
        ),
        (
            lambda header: {**header, "settings": {**header["settings"], "layers": 3}},
            "unreadable token model",
        ),
    ],
)
def test_a_damaged_header_is_a_clear_error(tiny_model, tmp_path, header_change, message):
    _, folder = tiny_model
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / WEIGHTS_FILE).write_bytes((folder / WEIGHTS_FILE).read_bytes())
    header = json.loads((folder / HEADER_FILE).read_text())
    (damaged / HEADER_FILE).write_text(json.dumps(header_change(header)))

    with pytest.raises(ValueError, match=message):
        TokenModel.load(damaged)


def test_settings_that_train_nothing_are_refused():
    for settings in (TrainingSettings(epochs=0), TrainingSettings(layers=7)):
        with pytest.raises(ValueError):
            train_token_model(LABELLED, settings)
    blank = [LabelledText(str(index), " ", "en", []) for index in range(20)]
    with pytest.raises(ValueError, match="no tokens to learn from"):
        train_token_model(blank, TINY)


def test_blank_texts_among_labelled_ones_keep_the_loss_finite():
    blank = [LabelledText(f"blank-{index}", "", "en", []) for index in range(8)]

    model = train_token_model(blank + LABELLED, TINY)

    assert np.isfinite(model.summary.final_loss)


def test_the_score_threshold_applies_to_the_model_findings():
    text = "Mail Maria Lopez today."

    strict = PiiDetector(languages=["en"], token_model=FixedModel(), score_threshold=0.995)
    default = PiiDetector(languages=["en"], token_model=FixedModel())

    assert "Maria Lopez" not in {text[item.start : item.end] for item in strict.detect(text, "en")}
    assert "Maria Lopez" in {text[item.start : item.end] for item in default.detect(text, "en")}


@pytest.mark.parametrize(
    "arguments",
    [["--epochs", "0"], ["--layers", "7"], ["--limit", "-3"]],
)
def test_train_detector_refuses_settings_that_train_nothing(tmp_path, arguments):
    from hybrid_pipelines import cli

    with pytest.raises(SystemExit) as stopped:
        cli.main(
            [
                "train-detector",
                "--dataset",
                _labelled_file(tmp_path),
                "--out",
                str(tmp_path / "m"),
                *arguments,
            ]
        )

    assert stopped.value.code == 2


def test_train_detector_says_what_is_wrong_before_training(tmp_path, capsys):
    from hybrid_pipelines import cli

    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    a_file = tmp_path / "a-file"
    a_file.write_text("x")

    no_records = cli.main(["train-detector", "--dataset", str(empty), "--out", str(tmp_path / "m")])
    bad_out = cli.main(
        ["train-detector", "--dataset", _labelled_file(tmp_path), "--out", str(a_file)]
    )
    output = capsys.readouterr().out

    assert no_records == 2 and "no labelled texts" in output
    assert bad_out == 2 and "is not a folder" in output
