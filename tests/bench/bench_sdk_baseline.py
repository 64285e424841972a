"""The baseline: what a user does without the operator, with the Huawei Cloud Python SDK.

Object by object: one batch-pause call with the object's jobs, then batch-status until every
accepted job shows PAUSING. The SDK retries nothing, so this script adds what a careful user
would: requests are paced to the service's rate limit (so it is not penalised by a 429 storm),
and a throttled request (429 / DRS.M01503) is retried after a second.

Run by bench_run.py as a separate process:
    python bench_sdk_baseline.py INPUT.json   -> prints one JSON line with the figures
INPUT: {"url", "ak", "sk", "project", "pace", "objects": [[[job_id, mode], ...], ...]}
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
    for jobs in spec["objects"]:
        request = BatchStopJobsRequest(
            body=BatchPauseJobReq(jobs=[PauseInfo(job_id=j, pause_mode=m) for j, m in jobs])
        )
        answer = paced.call(client.batch_stop_jobs, request)
        waiting = {r.id for r in answer.results or [] if r.status == "success"}
        failed += len(jobs) - len(waiting)
        while waiting:
            page = PageReq(cur_page=1, per_page=0)
            query = BatchListJobStatusRequest(
                body=BatchQueryJobReqPage(jobs=sorted(waiting), page_req=page)
            )
            polls += 1
            states = paced.call(client.batch_list_job_status, query)
            for result in states.results or []:
                if result.status in PAUSED:
                    waiting.discard(result.id)
                    paused += 1
            if waiting:
                time.sleep(0.5)
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
