"""Constants and a thin DRS client shared by the simulator tests."""

from __future__ import annotations

from typing import Any

import httpx

PROJECT = "054ba152d480d55b2f5dc0069e7ddef0"
OTHER_PROJECT = "0aa0bb0cc0dd0ee0ff00112233445566"
TOKEN = "test-token-0123456789abcdef"
JOB_A = "8d0e8e36-a618-490d-8a46-8c61ac9jb502"
JOB_B = "11111111-2222-3333-4444-555555555555"
JOB_C = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
UNKNOWN = "99999999-9999-9999-9999-99999999zzzz"
# Each request gets a bound: nothing in these tests may hang.
TIMEOUT = httpx.Timeout(5.0)

DEFAULT_TASKS = [
    {"id": JOB_A, "status": "INCRE_TRANSFER_STARTED"},
    {"id": JOB_B, "status": "FULL_TRANSFER_STARTED"},
    {"id": JOB_C, "status": "INCRE_TRANSFER_FAILED", "project_id": PROJECT},
]


def pause_body(*jobs: str, mode: str = "target") -> dict[str, Any]:
    return {"jobs": [{"job_id": j, "pause_mode": mode} for j in jobs]}


class Drs:
    """A thin DRS client for tests: token auth, one project."""

    def __init__(self, client: httpx.AsyncClient, project: str = PROJECT, token: str = TOKEN):
        self.client = client
        self.project = project
        self.token = token

    def _headers(self) -> dict[str, str]:
        return {"X-Auth-Token": self.token} if self.token else {}

    async def post(self, operation: str, body: Any, **kwargs: Any) -> httpx.Response:
        headers = {**self._headers(), **kwargs.pop("headers", {})}
        url = f"/v3/{self.project}/jobs/{operation}"
        if isinstance(body, bytes | str):
            return await self.client.post(url, content=body, headers=headers, **kwargs)
        return await self.client.post(url, json=body, headers=headers, **kwargs)

    async def pause(self, *jobs: str, mode: str = "target") -> httpx.Response:
        return await self.post("batch-pause-task", pause_body(*jobs, mode=mode))

    async def status(self, *jobs: str, per_page: int | None = 0) -> httpx.Response:
        body: dict[str, Any] = {"jobs": list(jobs)}
        if per_page is not None:
            body["page_req"] = {"cur_page": 1, "per_page": per_page}
        return await self.post("batch-status", body)

    async def statuses(self, *jobs: str) -> dict[str, str]:
        response = await self.status(*jobs)
        assert response.status_code == 200, response.text
        return {r["id"]: r["status"] for r in response.json()["results"]}

    async def resume(self, *jobs: str, re_edit: bool | None = None) -> httpx.Response:
        items: list[dict[str, Any]] = [{"job_id": j} for j in jobs]
        if re_edit is not None:
            items = [{**item, "is_sync_re_edit": re_edit} for item in items]
        return await self.post("batch-retry-task", {"jobs": items})

    async def progress(self, *jobs: str) -> httpx.Response:
        return await self.post("batch-progress", {"jobs": list(jobs)})

    async def delays(self, *jobs: str) -> dict[str, str]:
        """``incre_trans_delay`` by id (asserting a 200)."""
        response = await self.progress(*jobs)
        assert response.status_code == 200, response.text
        return {r["job_id"]: r["incre_trans_delay"] for r in response.json()["results"]}

    async def list_jobs(self, body: Any = None, **fields: Any) -> httpx.Response:
        """``POST /v3/{project_id}/jobs``: ``body`` as given, else the page's required fields
        (cur_page 1, per_page 100, db_use_type migration) updated with ``fields``."""
        if body is None:
            body = {"cur_page": 1, "per_page": 100, "db_use_type": "migration", **fields}
        headers = self._headers()
        url = f"/v3/{self.project}/jobs"
        if isinstance(body, bytes | str):
            return await self.client.post(url, content=body, headers=headers)
        return await self.client.post(url, json=body, headers=headers)

    async def listed(self, **fields: Any) -> list[str]:
        """The ids the task list answers (asserting a 200)."""
        response = await self.list_jobs(**fields)
        assert response.status_code == 200, response.text
        return [job["id"] for job in response.json()["jobs"]]
