"""Remote text and remote answers are bounded: a hostile or broken DRS cannot grow an object past
a safe size, flood Events or metrics, hold the operator with a slow answer, or make it read an
oversized one."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from drs_pause_operator.dev.devcluster import free_port
from drs_pause_operator.dev.simulator.testing import SimulatorProcess

from .conftest import TOKEN, djp, get_status, new_job_id, operator_args, token_secret, wait_for

SECRET = {"credentialsSecretRef": {"name": "drs-credentials"}}
HUGE_TEXT = "E" * 100_000  # a 100 KB error message
LONG_CODE = "DRS." + "M" * 5_000
MAX_MESSAGE, MAX_SHORT, MAX_EVENT = 512, 128, 1024
SAFE_OBJECT_BYTES = 1 << 20  # etcd refuses objects over 1.5 MiB


@pytest.fixture(scope="module")
def own_simulator() -> Iterator[SimulatorProcess]:
    """A simulator of this module's own: its fault rules apply to every job it sees."""
    with SimulatorProcess(["--token", TOKEN]) as sim:
        yield sim


def phase_in(cluster, namespace, name, *phases):
    def check():
        status = get_status(cluster, namespace, name)
        return status if status.get("phase") in phases else None

    return check


def test_remote_text_in_status_events_and_metrics_is_bounded(
    cluster, namespace, own_simulator, start_operator
):
    sim = own_simulator
    many = [new_job_id() for _ in range(500)]  # the most one object may hold
    few = [new_job_id() for _ in range(3)]
    sim.seed([{"id": j, "status": "INCRE_TRANSFER_STARTED"} for j in many + few])
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace))
    port = free_port()
    args = operator_args(sim.url, namespace, "--batch-size", "20")
    args[args.index("--metrics-port") + 1] = str(port)
    start_operator(args)

    # 1. Every job of a 500-job object fails with a 100 KB per-job error message.
    sim.add_fault(kind="job_error", endpoint="pause", error_code="DRS.M05003",
                  error_msg=HUGE_TEXT, times=None)
    cluster.kubectl("apply", "-f", "-", input=djp(namespace, "many",
                                                  [(j, "all") for j in many], **SECRET))
    status = wait_for(phase_in(cluster, namespace, "many", "Failed"), timeout=120,
                      what="500 jobs Failed")
    sim.clear_faults()
    assert status["summary"]["failed"] == 500
    for job in status["jobs"]:
        assert job["errorCode"] == "DRS.M05003"
        assert job["errorMessage"].startswith("EEEE") and len(job["errorMessage"]) <= MAX_MESSAGE
    size = len(cluster.kubectl("get", "djp", "many", "-n", namespace, "-o", "json").stdout)
    print(f"500-job object with 100 KB error messages: {size} bytes")
    assert size < SAFE_OBJECT_BYTES

    # 2. Per-job answers with an absurd error code, and a whole-request rejection whose
    #    message is 100 KB (split down to the one job, which fails with it).
    sim.add_fault(kind="job_error", endpoint="pause", job_id=few[0], error_code=LONG_CODE,
                  error_msg=HUGE_TEXT, times=None)
    sim.add_fault(kind="http_error", endpoint="pause", job_id=few[1], status=400,
                  error_code="DRS.M00202", error_msg=HUGE_TEXT, times=None)
    cluster.kubectl("apply", "-f", "-", input=djp(namespace, "few",
                                                  [(j, "target") for j in few], **SECRET))
    status = wait_for(phase_in(cluster, namespace, "few", "PartiallyPaused"), timeout=60,
                      what="few PartiallyPaused")
    sim.clear_faults()
    jobs = {j["jobId"]: j for j in status["jobs"]}
    assert jobs[few[0]]["phase"] == "Failed" and len(jobs[few[0]]["errorCode"]) <= MAX_SHORT
    assert len(jobs[few[0]]["errorMessage"]) <= MAX_MESSAGE
    assert jobs[few[1]]["phase"] == "Failed" and jobs[few[1]]["errorCode"] == "DRS.M00202"
    assert len(jobs[few[1]]["errorMessage"]) <= MAX_MESSAGE
    assert jobs[few[2]]["phase"] == "Paused"

    for name in ("many", "few"):
        for cond in get_status(cluster, namespace, name)["conditions"]:
            assert len(cond["message"]) <= MAX_MESSAGE, cond["type"]
            assert len(cond["reason"]) <= MAX_SHORT, cond["type"]
    events = json.loads(cluster.kubectl("get", "events", "-n", namespace, "-o", "json").stdout)
    assert events["items"]
    for event in events["items"]:
        assert len(event["message"]) <= MAX_EVENT and len(event["reason"]) <= MAX_SHORT
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    assert 'code="other"' in metrics  # the absurd code collapsed into one label value
    assert "MMMMMMMMMM" not in metrics and "EEEEEEEEEE" not in metrics
    assert max(len(line) for line in metrics.splitlines()) < 1000


# -- a hostile DRS endpoint: answers that drip in for ever, or never end ------------------------


@dataclass
class HostileServer:
    """Answers every request on 127.0.0.1 with ``/drip/...`` (a byte now and then, for up to
    two minutes) or ``/huge/...`` (an endless chunked body), and records how long each
    connection lasted."""

    port: int = 0
    durations: dict[str, list[float]] = field(default_factory=lambda: {"drip": [], "huge": []})
    _loop: asyncio.AbstractEventLoop | None = None
    _stop: asyncio.Event | None = None
    _thread: threading.Thread | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        started = time.monotonic()
        kind = "drip"
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            kind = "huge" if b" /huge/" in head.split(b"\r\n", 1)[0] else "drip"
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await asyncio.wait_for(reader.readexactly(length), 10)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n")
            deadline = time.monotonic() + 120
            chunk = b'{"pad": "' + b"x" * 65_000 if kind == "huge" else b" "
            while time.monotonic() < deadline:
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await writer.drain()
                if kind == "huge":
                    chunk = b"x" * 65_000
                    await asyncio.sleep(0)
                else:
                    await asyncio.sleep(0.5)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass
        finally:
            self.durations[kind].append(time.monotonic() - started)
            writer.close()

    async def _serve(self, ready: threading.Event) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        async with server:
            await self._stop.wait()
        handlers = asyncio.all_tasks() - {asyncio.current_task()}
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)

    def __enter__(self) -> HostileServer:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self._serve(ready))
            self._loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        assert ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)


REQUEST_TIMEOUT = 2


def test_oversized_and_slow_answers_are_cut_off(
    cluster, namespace, own_simulator, start_operator
):
    sim = own_simulator
    big, slow, ok = new_job_id(), new_job_id(), new_job_id()
    dripped, endless = new_job_id(), new_job_id()
    sim.seed([{"id": j, "status": "INCRE_TRANSFER_STARTED"} for j in (big, slow, ok)])
    # A 5 MiB answer (announced in Content-Length) twice, then the real one.
    sim.add_fault(kind="http_error", endpoint="pause", job_id=big, status=200,
                  body={"results": [], "pad": "x" * (5 << 20)}, times=2)
    # An answer that only comes after 60 s, once.
    sim.add_fault(kind="timeout", endpoint="pause", job_id=slow, seconds=60, times=1)
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace))
    with HostileServer() as hostile:
        # The hostile endpoints are named by the objects: the operator must allow them.
        op = start_operator(operator_args(
            sim.url, namespace, "--request-timeout", str(REQUEST_TIMEOUT),
            "--allowed-endpoints", rf"http://127\.0\.0\.1:{hostile.port}/(drip|huge)"))
        started = time.monotonic()
        for name, job in (("big", big), ("slow", slow), ("ok", ok)):
            cluster.kubectl("apply", "-f", "-", input=djp(namespace, name, [(job, "all")],
                                                          **SECRET))
        base = f"http://127.0.0.1:{hostile.port}"
        cluster.kubectl("apply", "-f", "-", input=djp(namespace, "dripped", [(dripped, "all")],
                                                      endpoint=f"{base}/drip", **SECRET))
        cluster.kubectl("apply", "-f", "-", input=djp(namespace, "endless", [(endless, "all")],
                                                      endpoint=f"{base}/huge", **SECRET))
        for name in ("big", "slow", "ok"):
            wait_for(phase_in(cluster, namespace, name, "Paused"), timeout=40, what=name)
        elapsed = time.monotonic() - started
        assert elapsed < 30, f"the 60 s answer held the operator for {elapsed:.0f}s"

        def retried(name: str, needle: str):
            def check():
                job = (get_status(cluster, namespace, name).get("jobs") or [{}])[0]
                return job if job.get("attempts", 0) >= 2 and needle in job.get(
                    "errorMessage", "") else None

            return check

        job = wait_for(retried("dripped", "read timeout"), timeout=40, what="drip cut off")
        assert job["phase"] == "Pending" and len(job["errorMessage"]) <= MAX_MESSAGE
        job = wait_for(retried("endless", "bytes"), timeout=40, what="endless body cut off")
        assert job["phase"] == "Pending" and "4194304" in job["errorMessage"]
        print(f"hostile connections (seconds): {hostile.durations}")

    big_job = get_status(cluster, namespace, "big")["jobs"][0]
    assert big_job["attempts"] >= 3  # two oversized answers, then success
    assert "byte limit" in op.log or "4194304 bytes" in op.log
    # Each dripping answer was abandoned after about --request-timeout, never read to the end.
    assert hostile.durations["drip"], "the drip endpoint was never called"
    assert max(hostile.durations["drip"]) < REQUEST_TIMEOUT + 3, hostile.durations
    assert hostile.durations["huge"], "the endless endpoint was never called"
    assert max(hostile.durations["huge"]) < REQUEST_TIMEOUT + 3, hostile.durations
