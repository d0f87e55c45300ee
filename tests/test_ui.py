"""Browser test of the real webserver: `hybrid-pipelines ui` driven by headless Chromium.

One module-scoped `hybrid-pipelines ui` on a loopback port, over a sample inbox, in processes
that refuse outbound sockets. The tests check, in the UI and through its GraphQL API, that both
code locations load and show the lineage from `raw_documents` to `document_routing`, that asset
pages show placement tags, owners and kinds, and that a materialization launched from the UI
succeeds. Screenshots go to the test's tmp dir and to tests/artifacts/.
"""

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

from hybrid_pipelines.documents import arrival_date, inbox_files
from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HYBRID = Path(sys.executable).parent / "hybrid-pipelines"
ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
VIEWPORT = {"width": 2400, "height": 1200}

SERVER_TIMEOUT_S = 120
LOCATIONS_TIMEOUT_S = 120
RUN_TIMEOUT_S = 150
STOP_TIMEOUT_S = 30
UI_TIMEOUT_MS = 45_000

LOCATIONS = {"edge", "cloud"}
GROUPS = ["ingestion", "detection", "anonymization", "egress", "training", "promotion", "routing"]
LINEAGE = [
    "raw_documents",
    "pii_findings",
    "anonymized_documents",
    "training_corpus",
    "sensitivity_model_candidate",
    "candidate_evaluation",
    "edge_model",
    "document_routing",
]
LINEAGE_SELECTION = 'key:"raw_documents"+ and +key:"document_routing"'
PLACEMENT_TAGS = ("hybrid/location", "hybrid/sensitivity")

ASSET_NODES_QUERY = """
{ assetNodes {
    assetKey { path } groupName kinds isExecutable
    repository { location { name } }
    dependencyKeys { path }
    owners { ... on TeamAssetOwner { team } ... on UserAssetOwner { email } }
    tags { key value }
} }"""
LOCATIONS_QUERY = """
{ workspaceOrError { ... on Workspace { locationEntries {
    name loadStatus
    locationOrLoadError { __typename ... on PythonError { message } }
} } } }"""
RUNS_QUERY = """
query Runs($filter: RunsFilter) { runsOrError(filter: $filter) { ... on Runs { results {
    runId status assetSelection { path } tags { key value }
} } } }"""
RUN_QUERY = """
query Run($runId: ID!) { runOrError(runId: $runId) { ... on Run { status } } }"""
MATERIALIZATION_QUERY = """
query Materialization($key: AssetKeyInput!, $partition: String!) {
  assetOrError(assetKey: $key) { ... on Asset {
    assetMaterializations(partitions: [$partition], limit: 1) {
      runId partition metadataEntries { label ... on IntMetadataEntry { intValue } }
} } } }"""


def _browser_missing_reason() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing; run scripts/install-browser.sh"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed; pip install -e '.[dev]'"
    return None


def _require_browser() -> None:
    """Skip where the browser is missing, except under CI, which installs it and must fail."""
    reason = _browser_missing_reason()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser test cannot run under CI: {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _guarded_environment(inbox: Path, refused_log: Path) -> dict[str, str]:
    """The caller's environment without project settings, plus the outbound-socket guard."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HYBRID_", "DAGSTER_"))
    }
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT / "tests" / "socket_guard"), str(REPO_ROOT)]
    )
    environment["HYBRID_SOCKET_GUARD_LOG"] = str(refused_log)
    environment["HYBRID_INBOX"] = str(inbox)
    return environment


def _tail(path: Path, chars: int = 4000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"


def graphql(base_url: str, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"{base_url}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        payload = json.load(response)
    assert "errors" not in payload, payload["errors"]
    return payload["data"]


def _wait_for_server(base_url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"`hybrid-pipelines ui` exited with {process.returncode}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(f"{base_url}/server_info", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"the webserver did not answer within {SERVER_TIMEOUT_S}s:\n{_tail(log)}")


def _wait_for_locations(base_url: str, log: Path) -> None:
    deadline = time.monotonic() + LOCATIONS_TIMEOUT_S
    entries: list[dict] = []
    while time.monotonic() < deadline:
        entries = graphql(base_url, LOCATIONS_QUERY)["workspaceOrError"]["locationEntries"]
        errors = [
            f"{entry['name']}: {entry['locationOrLoadError']['message']}"
            for entry in entries
            if (entry["locationOrLoadError"] or {}).get("__typename") == "PythonError"
        ]
        assert not errors, "code locations failed to load:\n" + "\n".join(errors)
        loaded = {
            entry["name"]
            for entry in entries
            if entry["loadStatus"] == "LOADED"
            and (entry["locationOrLoadError"] or {}).get("__typename") == "RepositoryLocation"
        }
        if loaded >= LOCATIONS:
            return
        time.sleep(1)
    pytest.fail(f"code locations not loaded in {LOCATIONS_TIMEOUT_S}s: {entries}\n{_tail(log)}")


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def _stop(process: subprocess.Popen) -> None:
    """Stop `dagster dev` and all it started (its process group): SIGTERM, then SIGKILL."""
    group = process.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline and (process.poll() is None or _group_alive(group)):
        time.sleep(0.5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def webserver(tmp_path_factory) -> Iterator[dict]:
    """`hybrid-pipelines ui` over a fresh sample inbox and home, on a free loopback port."""
    _require_browser()
    root = tmp_path_factory.mktemp("ui")
    inbox, home = root / "inbox", root / "home"
    log, refused = root / "ui.log", root / "refused_connections.log"
    environment = _guarded_environment(inbox, refused)

    subprocess.run(
        [str(HYBRID), "sample", "--inbox", str(inbox)],
        check=True,
        capture_output=True,
        timeout=120,
        env=environment,
        cwd=root,
    )
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(HYBRID), "ui", "--home", str(home), "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=root,
            start_new_session=True,
        )
    try:
        _wait_for_server(base_url, process, log)
        _wait_for_locations(base_url, log)
        print(f"webserver and both code locations up in {time.monotonic() - started:.1f}s")
        yield {
            "url": base_url,
            "root": root,
            "log": log,
            "refused": refused,
            # The daily partitions of the sample files (their modification date, UTC).
            "partitions": sorted({arrival_date(path) for path in inbox_files(inbox)}),
        }
    finally:
        _stop(process)
    refused_text = refused.read_text() if refused.exists() else ""
    assert not refused_text, f"outbound connections were attempted:\n{refused_text}"


@pytest.fixture(scope="module")
def browser(webserver) -> Iterator:
    """A headless Debian Chromium with a fresh profile that may load only the webserver."""
    from playwright.sync_api import sync_playwright

    profile = webserver["root"] / "chromium-profile"
    off_host: list[str] = []

    def only_the_webserver(route) -> None:
        if route.request.url.startswith(webserver["url"]):
            route.continue_()
        else:
            off_host.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,
        )
        context.set_default_timeout(UI_TIMEOUT_MS)
        context.route("**/*", only_the_webserver)
        try:
            yield context
        finally:
            context.close()
    assert not off_host, f"the UI requested resources off the webserver: {off_host}"


@pytest.fixture
def page(browser):
    page = browser.new_page()
    yield page
    page.close()


def save_screenshot(page, tmp_path: Path, name: str) -> Path:
    """A full-page PNG in the test's tmp dir, copied to tests/artifacts/; checked non-empty."""
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000, f"{path} is not a PNG"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, ARTIFACTS / name)
    return path


def _shown_as(name: str, label: str) -> bool:
    """Whether a graph label is the asset name, whole or middle-truncated ("anonymi…_documents")."""
    if "…" not in label:
        return label == name
    head, tail = label.split("…", 1)
    return len(head) + len(tail) < len(name) and name.startswith(head) and name.endswith(tail)


def _asset_nodes(base_url: str) -> dict[str, dict]:
    """Asset nodes by key; of an asset that both locations know, the one that computes it."""
    nodes: dict[str, dict] = {}
    for node in graphql(base_url, ASSET_NODES_QUERY)["assetNodes"]:
        key = "/".join(node["assetKey"]["path"])
        if key not in nodes or node["isExecutable"]:
            nodes[key] = node
    return nodes


def test_lineage_is_wired_across_both_code_locations(webserver):
    """Second source of truth for the graph: the webserver's own GraphQL view of the assets."""
    nodes = _asset_nodes(webserver["url"])
    locations = {node["repository"]["location"]["name"] for node in nodes.values()}
    assert locations == LOCATIONS
    for upstream, downstream in pairwise(LINEAGE):
        assert [upstream] in [key["path"] for key in nodes[downstream]["dependencyKeys"]], (
            f"{upstream} -> {downstream} missing"
        )
    assert {node["groupName"] for node in nodes.values()} == set(GROUPS)
    for key, node in nodes.items():
        tags = {tag["key"] for tag in node["tags"]}
        assert set(PLACEMENT_TAGS) <= tags, f"{key} lacks placement tags"
        assert node["owners"] and node["kinds"], f"{key} lacks owners or kinds"


def test_asset_graph_shows_the_lineage(webserver, page, tmp_path):
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    selection = urllib.parse.quote(LINEAGE_SELECTION)
    page.goto(f"{webserver['url']}/asset-groups~{selection}")
    graph = page.locator("svg")
    for group in GROUPS:
        graph.get_by_text(group, exact=True).first.wait_for()
    with contextlib.suppress(PlaywrightTimeoutError):  # cosmetic: the groups' status counts
        graph.get_by_text("fetching statuses").first.wait_for(state="detached", timeout=15_000)
    save_screenshot(page, tmp_path, "asset_groups.png")

    # Groups start collapsed (or as the profile left them); ⌥E expands them all.
    asset_label = graph.get_by_text("raw_documents", exact=True)
    for _ in range(3):
        if asset_label.count():
            break
        page.keyboard.press("Alt+e")
        with contextlib.suppress(PlaywrightTimeoutError):  # toggled the wrong way: again
            asset_label.wait_for(timeout=5_000)
    asset_label.wait_for()
    page.wait_for_timeout(1_000)  # let the layout settle before reading and shooting it

    labels = {
        line.strip()
        for text in page.locator("svg foreignObject div").all_inner_texts()
        for line in text.splitlines()
        if line.strip()
    }
    missing = [name for name in LINEAGE if not any(_shown_as(name, label) for label in labels)]
    assert not missing, f"assets not shown on the path: {missing}; labels: {sorted(labels)}"
    assert all(group in labels for group in GROUPS), f"groups: {sorted(labels)}"
    edges = page.locator("svg path[marker-end]").count()
    assert edges >= len(LINEAGE) - 1, f"only {edges} edges drawn"
    save_screenshot(page, tmp_path, "asset_graph.png")

    page.goto(f"{webserver['url']}/locations")
    for location in LOCATIONS:
        page.get_by_text(f"deployments.{location}", exact=True).first.wait_for()
    page.get_by_text(f"{len(LOCATIONS)} code locations").wait_for()
    assert page.get_by_text("Loaded", exact=True).count() == len(LOCATIONS)


@pytest.mark.parametrize("asset", ["raw_documents", "sensitivity_model_candidate"])
def test_asset_page_shows_placement_owners_and_kinds(webserver, page, asset, tmp_path):
    node = _asset_nodes(webserver["url"])[asset]
    page.goto(f"{webserver['url']}/assets/{asset}")
    page.get_by_text("Tags", exact=True).wait_for()
    # The innermost block that holds the definition's fields: group, location, owners, kinds.
    definition = page.locator("div").filter(has_text="Code location").filter(has_text="Kinds").last
    for tag in node["tags"]:
        if tag["key"] in PLACEMENT_TAGS:
            page.get_by_text(f"{tag['key']}: {tag['value']}", exact=True).wait_for()
    text = definition.inner_text().lower()
    assert node["repository"]["location"]["name"] in text
    assert node["groupName"] in text
    for owner in node["owners"]:
        assert (owner.get("team") or owner.get("email")).lower() in text
    for kind in node["kinds"]:
        assert kind.lower() in text, f"kind {kind} not shown for {asset}"
    save_screenshot(page, tmp_path, f"asset_{asset}.png")


def _runs_of_partition(base_url: str, partition: str) -> list[dict]:
    results = graphql(
        base_url,
        RUNS_QUERY,
        {"filter": {"tags": [{"key": "dagster/partition", "value": partition}]}},
    )["runsOrError"]["results"]
    return [
        run
        for run in results
        if {"path": ["raw_documents"]} in (run["assetSelection"] or [])
        and {"key": "dagster/from_ui", "value": "true"} in run["tags"]
    ]


def test_materialize_raw_documents_from_the_ui(webserver, page, tmp_path):
    base_url = webserver["url"]
    # The sample files were written just now: one partition, today's UTC date (the UI's latest).
    (partition,) = webserver["partitions"]
    before = {run["runId"] for run in _runs_of_partition(base_url, partition)}

    page.goto(f"{base_url}/assets/raw_documents")
    # "…": the asset is partitioned, so the button opens the launch dialog.
    page.get_by_role("button", name="Materialize…").click()
    dialog = page.get_by_role("dialog")
    partitions = dialog.get_by_placeholder("No matching partitions")
    partitions.fill(partition)
    partitions.press("Enter")
    dialog.get_by_text("1 partition", exact=True).wait_for()
    dialog.get_by_role("button", name=re.compile(r"^Launch (1 )?run$")).click()
    dialog.wait_for(state="hidden", timeout=90_000)

    deadline = time.monotonic() + RUN_TIMEOUT_S
    launched: list[dict] = []
    while not launched and time.monotonic() < deadline:
        launched = [r for r in _runs_of_partition(base_url, partition) if r["runId"] not in before]
        time.sleep(1)
    assert len(launched) == 1, f"expected one run launched from the UI, got {launched}"
    run_id = launched[0]["runId"]

    page.goto(f"{base_url}/runs/{run_id}")
    status = None
    while time.monotonic() < deadline:
        status = graphql(base_url, RUN_QUERY, {"runId": run_id})["runOrError"]["status"]
        if status not in {"QUEUED", "NOT_STARTED", "STARTING", "STARTED"}:
            break
        time.sleep(2)
    assert status == "SUCCESS", f"run {run_id} ended {status}:\n{_tail(webserver['log'])}"

    # The run page shows the same outcome (it updates over its websocket).
    page.get_by_text("Success", exact=True).first.wait_for(timeout=60_000)
    page.get_by_text("RUN_SUCCESS", exact=True).first.wait_for(timeout=60_000)
    save_screenshot(page, tmp_path, "materialization_run.png")

    asset = graphql(
        base_url,
        MATERIALIZATION_QUERY,
        {"key": {"path": ["raw_documents"]}, "partition": partition},
    )["assetOrError"]
    (materialization,) = asset["assetMaterializations"]
    assert materialization["runId"] == run_id
    row_count = {
        entry["label"]: entry.get("intValue") for entry in materialization["metadataEntries"]
    }.get("dagster/row_count")
    assert row_count and row_count > 0, materialization["metadataEntries"]
