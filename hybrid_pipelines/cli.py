"""`hybrid-pipelines`: run the whole lineage, evaluate detection, read the egress audit."""

import argparse
import json
import logging
import os
import shutil
import sys
import time
import warnings
from pathlib import Path

from hybrid_pipelines.offline import enforce_offline
from hybrid_pipelines.privacy import redact

CURSOR_FILE = "cli_sensor_cursors.json"
# The terminal shows progress and the summary; the full event stream is in the instance
# (and in the UI), so the console logger only prints warnings.
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _say(message: str) -> None:
    print(message, flush=True)


def prepare_home(home: Path, inbox: Path | None = None) -> Path:
    """Export the environment the code locations read and install the instance config."""
    enforce_offline()
    home = home.resolve()
    dagster_home = home / "dagster"
    dagster_home.mkdir(parents=True, exist_ok=True)
    instance_config = dagster_home / "dagster.yaml"
    if not instance_config.exists():
        import deployments

        shutil.copy(Path(deployments.__file__).parent / "dagster.yaml", instance_config)
    os.environ["HYBRID_HOME"] = str(home)
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    if inbox is not None:
        os.environ["HYBRID_INBOX"] = str(inbox.resolve())
    return dagster_home


def _partitions(inbox: Path) -> list[str]:
    from hybrid_pipelines.documents import arrival_date, inbox_files

    return sorted({arrival_date(path) for path in inbox_files(inbox)})


def _range_tags(partitions: list[str]) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": partitions[0],
        "dagster/asset_partition_range_end": partitions[-1],
    }


def _step_summary(result) -> dict[str, dict]:
    """Metadata a person reads first, per materialized asset (counts, never content)."""
    summary = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        summary[materialization.asset_key.to_user_string()] = {
            key: value.value
            for key, value in materialization.metadata.items()
            if isinstance(value.value, int | float | str) and len(str(value.value)) < 80
        }
    return summary


def run_lineage(
    inbox: Path, home: Path, first_day: str | None = None, last_day: str | None = None
) -> int:
    """Materialize the whole lineage for the inbox, or for the days between `first_day` and
    `last_day` (a backfill, run as one range); returns the process exit code."""
    if not inbox.is_dir():
        _say(f"error: inbox {inbox} is not a folder")
        return 2
    prepare_home(home, inbox)

    import dagster as dg

    from deployments import cloud, edge
    from deployments.settings import load_settings
    from sensors.promotion import model_promotion_sensor

    settings = load_settings(home, inbox)
    edge_defs = edge.build_definitions(settings)
    cloud_defs = cloud.build_definitions(settings)
    instance = dg.DagsterInstance.get()
    partitions = [
        day
        for day in _partitions(inbox)
        if (first_day is None or day >= first_day) and (last_day is None or day <= last_day)
    ]
    if not partitions:
        _say(f"the inbox {inbox} holds no files for the days asked; nothing to do")
        return 0
    _say(f"{len(partitions)} day(s) from {partitions[0]} to {partitions[-1]}")
    summary: dict[str, dict] = {}
    started = time.monotonic()

    def execute(step: str, defs, job_name: str, **kwargs) -> bool:
        _say(f"[{step}] running {job_name} ...")
        step_started = time.monotonic()
        run_config = {**QUIET_CONSOLE, **kwargs.pop("run_config", {})}
        result = defs.resolve_job_def(job_name).execute_in_process(
            instance=instance, raise_on_error=False, run_config=run_config, **kwargs
        )
        summary.update(_step_summary(result))
        for failure in result.get_step_failure_events():
            error = failure.step_failure_data.error
            cause = error.cause or error if error else None
            detail = redact(cause.message.strip().splitlines()[-1]) if cause else "unknown error"
            _say(f"    step {failure.step_key} failed: {cause.cls_name if cause else ''} {detail}")
        state = "ok" if result.success else "FAILED"
        _say(
            f"[{step}] {job_name} {state} in {time.monotonic() - step_started:.1f}s "
            f"(run {result.run_id})"
        )
        return result.success

    edge_ok = execute(
        "1/4 edge",
        edge_defs,
        "edge_ingest_job",
        run_config={"ops": {"raw_documents": {"config": {"inbox": str(inbox.resolve())}}}},
        tags=_range_tags(partitions),
    )
    if not edge_ok:
        return _finish(summary, started, failed="edge ingestion")

    if not execute("2/4 cloud", cloud_defs, "training_job"):
        return _finish(summary, started, failed="cloud training")

    _say("[3/4 promotion] evaluating the promotion sensor once, as the daemon would ...")
    cursor_path = settings.dagster_home / CURSOR_FILE
    cursors = json.loads(cursor_path.read_text()) if cursor_path.exists() else {}
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursors.get("promotion"),
        resources={"cloud": edge_defs.resources["cloud"]},
    )
    sensor_result = model_promotion_sensor(context)
    requests = sensor_result if isinstance(sensor_result, list) else []
    for request in requests:
        if not execute(
            "3/4 promotion",
            edge_defs,
            "promote_model_job",
            run_config=request.run_config,
            tags=request.tags,
        ):
            return _finish(summary, started, failed="promotion")
    cursors["promotion"] = context.cursor
    cursor_path.write_text(json.dumps(cursors))

    if not execute("4/4 routing", edge_defs, "routing_job", tags=_range_tags(partitions)):
        return _finish(summary, started, failed="routing")
    return _finish(summary, started)


SUMMARY_FIELDS = {
    "raw_documents": ("dagster/row_count", "quarantined_records"),
    "pii_findings": ("documents_with_pii", "findings", "token_model", "documents_per_second"),
    "anonymized_documents": ("dagster/row_count", "held_back_records"),
    "training_corpus": ("dagster/row_count", "objects_written"),
    "sensitivity_model_candidate": ("model_version", "validation_f1"),
    "candidate_evaluation": ("decision", "candidate_balanced_accuracy"),
    "edge_model": ("model_version",),
    "document_routing": ("dagster/row_count", "judged_sensitive", "cloud_eligible", "device"),
}


def _finish(summary: dict, started: float, failed: str | None = None) -> int:
    _say("")
    _say("summary")
    for asset, fields in SUMMARY_FIELDS.items():
        if asset in summary:
            values = ", ".join(
                f"{field.removeprefix('dagster/')}={summary[asset][field]}"
                for field in fields
                if field in summary[asset]
            )
            _say(f"  {asset:<28} {values}")
    _say(f"  {'total time':<28} {time.monotonic() - started:.1f}s")
    if failed:
        _say(f"FAILED at {failed}; see the run's logs in the Dagster UI (hybrid-pipelines ui)")
        return 1
    return 0


def show_audit(home: Path, as_json: bool) -> int:
    from hybrid_pipelines.audit import AuditTamperedError, EgressAudit

    audit = EgressAudit(home.resolve() / "onprem" / "egress_audit.jsonl")
    try:
        count = audit.verify()
    except AuditTamperedError as error:
        _say(f"error: {error}")
        return 3
    entries = audit.entries()
    if as_json:
        _say(json.dumps(entries, indent=2))
        return 0
    _say(f"{count} egress entries, chain verified")
    for entry in entries:
        types = ",".join(f"{kind}:{n}" for kind, n in entry["entity_type_counts"].items())
        _say(
            f"{entry['recorded_at']}  {entry['asset']}[{entry['partition']}]  "
            f"records={entry['record_count']} held_back={entry['held_back_count']}  "
            f"sha256={entry['content_sha256'][:16]}  run={entry['run_id'][:8]}  {entry['uri']}"
            + (f"  types={types}" if types else "")
        )
    return 0


def start_ui(home: Path, port: int) -> int:
    """Become `dagster dev` on 127.0.0.1 (exec, not a child process).

    A child would be orphaned, webserver and code servers with it, when a supervisor sends
    SIGTERM to this process only. dagster dev maps SIGTERM to the SIGINT handler, so SIGINT
    goes back to its default first: launched from a non-interactive shell's background job it
    is inherited as ignored, and then SIGTERM would be ignored too."""
    import signal

    prepare_home(home)
    workspace = Path(__file__).resolve().parents[1] / "workspace.yaml"
    command = [
        str(Path(sys.executable).parent / "dagster"),
        "dev",
        "-w",
        str(workspace),
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    sys.stdout.flush()
    sys.stderr.flush()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.execve(command[0], command, os.environ.copy())


def preflight(home: Path) -> int:
    from hybrid_pipelines.preflight import run_preflight

    dagster_home = prepare_home(home)
    checks = run_preflight(dagster_home)
    for check in checks:
        _say(f"{'ok  ' if check.passed else 'FAIL'} {check.name:<24} {check.detail}")
    return 0 if all(check.passed for check in checks) else 1


def keygen() -> int:
    import base64
    import secrets

    from hybrid_pipelines.crypto import generate_key

    _say(f"HYBRID_PSEUDONYM_KEY={base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}")
    _say(f"HYBRID_GATE_KEY={base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}")
    _say(f"HYBRID_AT_REST_KEY={generate_key().decode()}")
    return 0


def train_detector(
    datasets: list[Path], split: str, out: Path, epochs: int, layers: int, limit: int | None
) -> int:
    """Fine-tune the token model on labelled span sets and save it, on-prem.

    The weights are learnt from raw labelled text: keep `out` on the on-prem side.
    """
    from hybrid_pipelines.datasets import LabelledText, load_labelled
    from hybrid_pipelines.evaluation import split_records
    from hybrid_pipelines.token_model import TrainingSettings, dataset_sha256, train_token_model

    settings = TrainingSettings(epochs=epochs, layers=layers)
    try:
        settings.check()
        if out.exists() and not out.is_dir():
            raise ValueError(f"{out}: exists and is not a folder")
        out.mkdir(parents=True, exist_ok=True)
    except (ValueError, OSError) as error:
        _say(f"error: {error}")
        return 2

    records: list[LabelledText] = []
    unique = list(dict.fromkeys(path.resolve() for path in datasets))
    for dataset in unique:
        try:
            loaded = load_labelled(dataset)
        except ValueError as error:
            _say(f"error: {error}")
            return 2
        if loaded and not isinstance(loaded[0], LabelledText):
            _say(f"error: {dataset}: not a span-labelled set (a .json or .jsonl of spans)")
            return 2
        chosen = split_records(loaded, split)
        records.extend(chosen[:limit] if limit is not None else chosen)

    _say(f"training the token model on {len(records)} labelled texts ({split} split)")
    try:
        model = train_token_model(
            records, settings, [dataset_sha256(dataset) for dataset in unique], split=split
        )
    except ValueError as error:
        _say(f"error: {error}")
        return 2
    model.save(out)
    summary = model.summary
    _say(
        json.dumps(
            {
                "model": str(out),
                "texts": summary.texts,
                "split": summary.split,
                "languages": summary.languages,
                "windows": summary.windows,
                "tokens_per_class": summary.tokens_per_class,
                "seconds": summary.seconds,
                "final_loss": summary.final_loss,
            }
        )
    )
    return 0


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def _day(value: str) -> str:
    from datetime import date

    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a YYYY-MM-DD date") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hybrid-pipelines", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="materialize the whole lineage for an inbox")
    run.add_argument("--inbox", type=Path, required=True)
    run.add_argument("--home", type=Path, required=True)
    run.add_argument("--from", dest="first_day", type=_day, help="first day (YYYY-MM-DD)")
    run.add_argument("--to", dest="last_day", type=_day, help="last day (YYYY-MM-DD)")

    sample = commands.add_parser("sample", help="write the bundled sample inbox")
    sample.add_argument("--inbox", type=Path, required=True)

    evaluate = commands.add_parser(
        "evaluate", help="detection / routing quality on a labelled file", add_help=False
    )
    evaluate.add_argument("rest", nargs=argparse.REMAINDER)

    audit = commands.add_parser("audit", help="print the egress audit")
    audit.add_argument("--home", type=Path, required=True)
    audit.add_argument("--json", action="store_true")

    ui = commands.add_parser("ui", help="start the Dagster UI with both code locations")
    ui.add_argument("--home", type=Path, required=True)
    ui.add_argument("--port", type=int, default=3000)

    check = commands.add_parser("preflight", help="check that a run would stay offline")
    check.add_argument("--home", type=Path, required=True)

    commands.add_parser("keygen", help="print fresh keys for the three secrets")

    train = commands.add_parser(
        "train-detector", help="fine-tune the token model on labelled span sets (on-prem)"
    )
    train.add_argument("--dataset", type=Path, action="append", required=True)
    train.add_argument(
        "--split",
        choices=("dev", "all"),
        default="dev",
        help="dev: leave index %% 5 == 0 out for evaluation (default); all: every record",
    )
    train.add_argument("--out", type=Path, required=True, help="model folder (on-prem)")
    train.add_argument("--epochs", type=_positive, default=4)
    train.add_argument(
        "--layers", type=int, choices=range(1, 7), default=6, help="MiniLM layers kept (1-6)"
    )
    train.add_argument("--limit", type=_positive, help="first N records of each set")

    # `evaluate` forwards its options to the evaluation module, which owns them.
    arguments, forwarded = parser.parse_known_args(argv)
    # Dagster flags the Pipes and backfill APIs we rely on as preview/beta on every use; the
    # pins in pyproject are what protects us, the repeated notice only hides the progress.
    warnings.filterwarnings("ignore", message=r".*is currently in (preview|beta)")
    if forwarded and arguments.command != "evaluate":
        parser.error(f"unrecognized arguments: {' '.join(forwarded)}")
    logging.basicConfig(level=logging.WARNING)

    if arguments.command == "run":
        return run_lineage(arguments.inbox, arguments.home, arguments.first_day, arguments.last_day)
    if arguments.command == "sample":
        from hybrid_pipelines.sample import write_sample_inbox

        _say(json.dumps(write_sample_inbox(arguments.inbox)))
        return 0
    if arguments.command == "evaluate":
        from hybrid_pipelines import evaluation

        return evaluation.main([*forwarded, *arguments.rest])
    if arguments.command == "audit":
        return show_audit(arguments.home, arguments.json)
    if arguments.command == "preflight":
        return preflight(arguments.home)
    if arguments.command == "ui":
        return start_ui(arguments.home, arguments.port)
    if arguments.command == "train-detector":
        return train_detector(
            arguments.dataset,
            arguments.split,
            arguments.out,
            arguments.epochs,
            arguments.layers,
            arguments.limit,
        )
    return keygen()


if __name__ == "__main__":
    sys.exit(main())
