"""The baselines: what a user does without the operator, with the Huawei Cloud Python SDK.

Two scripts a user might write:

- ``per-object``: object by object, one batch-pause call with the object's jobs, then
  batch-status until every accepted job shows PAUSING.
- ``batched``: every job of every object at once, in chunks of ``batch_size`` jobs per
  batch-pause call, then batch-status (100 ids a page) until every accepted job shows PAUSING.
  This is what a user who scripts thousands of ids writes.

The SDK retries nothing, so both add what a careful user would: requests are paced to the
service's rate limit (so they are not penalised by a 429 storm), and a throttled request (429 /
DRS.M01503) is retried after a second.

Run by bench_run.py as a separate process:
    python bench_sdk_baseline.py INPUT.json   -> prints one JSON line with the figures
INPUT: {"url", "ak", "sk", "project", "pace", "mode": "per-object"|"batched", "batch_size",
        "objects": [[[job_id, mode], ...], ...]}
"""

from __future__ import annotations

import json
import resource
import sys
import time
import warnings

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkdrs.v3 import (
    BatchListJobStatusRequest,
    BatchPauseJobReq,
    BatchQueryJobReqPage,
    BatchStopJobsRequest,
    DrsClient,
    PageReq,
    PauseInfo,
)

PAUSED = ("PAUSING", "PAUSEING")
THROTTLED = ("APIGW.0308", "DRS.M01503")


class Paced:
    """At most ``rate`` requests per second; a throttled request is sent again after 1 s."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.next_at = 0.0
        self.requests = 0
        self.throttled = 0

    def call(self, fn, request):
        while True:
            now = time.monotonic()
            if now < self.next_at:
                time.sleep(self.next_at - now)
            self.next_at = max(now, self.next_at) + self.interval
            self.requests += 1
            try:
                return fn(request)
            except ClientRequestException as err:
                if err.status_code == 429 or err.error_code in THROTTLED:
                    self.throttled += 1
                    time.sleep(1.0)
                    continue
                raise


def _wait_paused(client, paced: Paced, waiting: set[str], paused: int, polls: int):
    """batch-status (100 ids a page) until every id in ``waiting`` shows PAUSING."""
    while waiting:
        ids = sorted(waiting)
        for start in range(0, len(ids), 100):
            page_ids = ids[start : start + 100]
            query = BatchListJobStatusRequest(
                body=BatchQueryJobReqPage(jobs=page_ids, page_req=PageReq(cur_page=1, per_page=0))
            )
            polls += 1
            states = paced.call(client.batch_list_job_status, query)
            for result in states.results or []:
                if result.status in PAUSED and result.id in waiting:
                    waiting.discard(result.id)
                    paused += 1
        if waiting:
            time.sleep(0.5)
    return paused, polls


def main() -> int:
    warnings.simplefilter("ignore", DeprecationWarning)
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    config = HttpConfig.get_default_config()
    config.timeout = (5, 30)
    client = (
        DrsClient.new_builder()
        .with_http_config(config)
        .with_credentials(BasicCredentials(spec["ak"], spec["sk"], spec["project"]))
        .with_endpoints([spec["url"]])
        .build()
    )
    paced = Paced(float(spec["pace"]))
    paused = failed = polls = 0
    started = time.monotonic()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    if spec.get("mode", "per-object") == "batched":
        every = [job for jobs in spec["objects"] for job in jobs]
        size = int(spec.get("batch_size") or 100)
        groups = [every[i : i + size] for i in range(0, len(every), size)]
    else:
        groups = spec["objects"]
    waiting: set[str] = set()
    for jobs in groups:
        request = BatchStopJobsRequest(
            body=BatchPauseJobReq(jobs=[PauseInfo(job_id=j, pause_mode=m) for j, m in jobs])
        )
        answer = paced.call(client.batch_stop_jobs, request)
        accepted = {r.id for r in answer.results or [] if r.status == "success"}
        failed += len(jobs) - len(accepted)
        waiting |= accepted
        if spec.get("mode", "per-object") != "batched":
            paused, polls = _wait_paused(client, paced, waiting, paused, polls)
    paused, polls = _wait_paused(client, paced, waiting, paused, polls)
    wall = time.monotonic() - started
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    print(json.dumps({
        "wall_seconds": wall, "cpu_seconds": cpu, "requests": paced.requests,
        "throttled": paced.throttled, "status_polls": polls, "paused": paused, "failed": failed,
        "peak_rss_mib": cpu1.ru_maxrss / 1024.0,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
