"""The aiohttp application: DRS routes, IAM tokens, the admin API and the call log.

Order of work for a DRS call: read the body (413 over the limit), base latency, authentication,
project check, rate limit, fault rules, validation, the operation, then post-processing faults.
Every response carries ``X-Request-Id``; every body is JSON (or empty); bad input is a 4xx,
never a 500.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from . import codes
from .auth import AuthError, fingerprint
from .core import Simulator, iso_millis
from .faults import ENDPOINT_ALIASES, FaultRule, Firing
from .openapi import openapi_document
from .progress import DelayUpdate
from .state import BulkSeed, TaskSeed
from .validation import (
    ApiError,
    best_effort_job_ids,
    check_language,
    parse_json_object,
    parse_list,
    parse_pause,
    parse_progress,
    parse_retry,
    parse_status,
)

log = logging.getLogger("drs_pause_operator.dev.simulator")

SIMULATOR_KEY = web.AppKey("simulator", Simulator)
# web.RequestKey exists from aiohttp 3.12 on; plain strings work (with a warning) before it.
_request_key = getattr(web, "RequestKey", None)
REQUEST_ID_KEY: Any = _request_key("request_id", str) if _request_key else "request_id"
CALL_KEY: Any = _request_key("call", dict) if _request_key else "call"
PROJECT_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Bodies over the limit are still read (and discarded) up to this size so the client sees the
# 413 instead of a reset connection; beyond it the connection is closed.
DRAIN_LIMIT = 64 << 20
CHUNK = 64 << 10
ENDPOINTS = {
    "batch-pause-task": "pause",
    "batch-status": "status",
    "batch-retry-task": "retry",
    "batch-progress": "progress",
}
LIST_ENDPOINT = "list"  # POST /v3/{project_id}/jobs
# The key of the per-item list in each endpoint's answer (missing_results faults remove items),
# and the key of the job id in one item.
RESULTS_KEY = {"list": "jobs"}
ID_KEY = {"progress": "job_id"}
# Endpoints answering per job: their call log entries say which ids an answer carried.
PER_JOB_ENDPOINTS = frozenset(ENDPOINTS.values())
UNLOGGED_PREFIXES = ("/admin/", "/healthz", "/openapi.json")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class DropConnection(Exception):
    """Close the connection without answering."""


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    if body is None:
        return web.Response(status=status, headers=headers)
    return web.json_response(body, status=status, headers=headers)


def api_error_response(err: ApiError) -> web.Response:
    return json_response(err.status, err.body, err.headers)


# --- middleware ---------------------------------------------------------------------------------


@web.middleware
async def request_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = uuid.uuid4().hex
    request[REQUEST_ID_KEY] = request_id
    call: dict[str, Any] = {"endpoint": "unknown", "auth": None, "fault": None}
    call["received"] = datetime.now(UTC).isoformat()
    request[CALL_KEY] = call
    dropped = False
    logged = not request.path.startswith(UNLOGGED_PREFIXES)
    if logged:
        request.app[SIMULATOR_KEY].calls.begin(call)
    try:
        response = await handler(request)
    except ApiError as err:
        call["error_code"] = err.code
        if call.get("results") is None and isinstance(err.body.get("results"), list):
            call["results"] = err.body["results"]
            call["answered_ids"] = answered_ids(err.body["results"], "id")
        response = api_error_response(err)
    except DropConnection:
        dropped = True
        if request.transport is not None:
            request.transport.close()
        response = web.Response(status=200)
    except web.HTTPException as exc:
        response = _http_exception_response(exc)
        body = response.body if isinstance(response.body, bytes) else b"{}"
        call["error_code"] = json.loads(body).get("error_code")
    except Exception:
        log.exception("unexpected error answering %s %s", request.method, request.path)
        response = json_response(500, codes.error_body(codes.SERVICE_ABNORMAL))
    finally:
        if logged:
            request.app[SIMULATOR_KEY].calls.end(call)
    response.headers["X-Request-Id"] = request_id
    if logged:
        _record(request, call, None if dropped else response.status)
    return response


def _http_exception_response(exc: web.HTTPException) -> web.Response:
    if exc.status == 404:
        return json_response(404, codes.error_body(codes.GW_NO_API))
    if exc.status == 405:
        allowed = ", ".join(sorted(getattr(exc, "allowed_methods", ()) or ()))
        headers = {"Allow": allowed} if allowed else None
        return json_response(405, codes.error_body(codes.GW_NO_API), headers)
    if exc.status == 413:
        return json_response(413, codes.error_body(codes.GW_TOO_LARGE))
    code = codes.INVALID_REQUEST if exc.status < 500 else codes.SERVICE_ABNORMAL
    return json_response(exc.status, codes.error_body(code))


def _record(request: web.Request, call: dict[str, Any], status: int | None) -> None:
    sim = request.app[SIMULATOR_KEY]
    log.info(
        "%s %s -> %s%s",
        request.method,
        request.path[:200],
        status if status is not None else "dropped",
        f" fault={','.join(call['fault'])}" if call["fault"] else "",
    )
    sim.calls.record(
        {
            "time": datetime.now(UTC).isoformat(),
            "received": call["received"],
            "endpoint": call["endpoint"],
            "method": request.method,
            "path": request.path,
            "project_id": call.get("project_id"),
            "auth": call["auth"],
            "status": status,
            "request_id": request[REQUEST_ID_KEY],
            "fault": call["fault"],
            "job_ids": call.get("job_ids", []),
            "results": call.get("results"),
            "answered_ids": call.get(
                "answered_ids", [] if call["endpoint"] in PER_JOB_ENDPOINTS else None
            ),
            "listed": call.get("listed"),
            "error_code": call.get("error_code"),
        }
    )


# --- shared steps -------------------------------------------------------------------------------


async def read_body(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > DRAIN_LIMIT:
        request.protocol.force_close()
        raise ApiError(413, codes.GW_TOO_LARGE)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(CHUNK):
        size += len(chunk)
        if size > DRAIN_LIMIT:
            request.protocol.force_close()
            break
        if size <= limit:
            chunks.append(chunk)
    if size > limit:
        raise ApiError(413, codes.GW_TOO_LARGE)
    return b"".join(chunks)


async def sleep_ms(ms: float) -> None:
    if ms > 0:
        await asyncio.sleep(ms / 1000)


async def misbehave(rule: FaultRule) -> web.Response:
    """The answer of a terminal fault rule (or DropConnection)."""
    if rule.kind == "http_error":
        body = rule.body
        if body is None and rule.error_code is not None:
            body = codes.error_body(rule.error_code, rule.error_msg)
        return json_response(rule.status, body)
    if rule.kind == "busy":
        return json_response(
            rule.status, codes.error_body(rule.error_code or codes.BUSY, rule.error_msg)
        )
    if rule.kind == "rate_limit":
        headers = {} if rule.retry_after is None else {"Retry-After": str(rule.retry_after)}
        body = codes.error_body(codes.GW_THROTTLED, codes.message(codes.GW_THROTTLED) % "fault")
        return json_response(429, body, headers)
    if rule.kind == "malformed":
        return web.Response(
            status=200, body=b'{"results": [{"id": "', content_type="application/json"
        )
    if rule.kind == "timeout":
        await asyncio.sleep(rule.seconds)
    raise DropConnection()


def apply_missing(
    firing: Firing,
    body: dict[str, Any],
    rng_pick: Callable[[int], int],
    key: str = "results",
    id_key: str = "id",
) -> None:
    for rule in firing.missing:
        results = body.get(key, [])
        if rule.job_id is not None:
            body[key] = [r for r in results if r.get(id_key) != rule.job_id]
        elif rule.omit == "key":
            body.pop(key, None)
        elif rule.omit == "some" and results:
            keep = rng_pick(len(results))  # keep 0..n-1: at least one result goes missing
            body[key] = results[:keep]
        else:
            body[key] = []


def answered_ids(results: Any, id_key: str) -> list[str]:
    """The job ids a per-job list in an answer carries (for the call log)."""
    if not isinstance(results, list):
        return []
    return [r[id_key] for r in results if isinstance(r, dict) and isinstance(r.get(id_key), str)]


def _check_project(project_id: str, bound: str | None) -> None:
    if not PROJECT_RE.match(project_id) or (bound is not None and bound != project_id):
        raise ApiError(403, codes.INVALID_PROJECT)


# --- DRS routes ---------------------------------------------------------------------------------


async def drs_handler(request: web.Request) -> web.StreamResponse:
    sim = request.app[SIMULATOR_KEY]
    call = request[CALL_KEY]
    operation = request.match_info.get("operation")
    endpoint = ENDPOINTS[operation] if operation is not None else LIST_ENDPOINT
    project_id = request.match_info["project_id"]
    call.update(endpoint=endpoint, project_id=project_id[:64])
    body = await read_body(request, sim.config.max_body_bytes)
    job_ids = best_effort_job_ids(body)
    call["job_ids"] = job_ids
    await sleep_ms(sim.config.latency_ms)

    try:
        who = sim.auth.authenticate(
            method=request.method,
            raw_path=request.raw_path.partition("?")[0],
            query=request.query_string,
            headers=request.headers,
            body=body,
            max_clock_skew=sim.config.max_clock_skew_seconds,
        )
    except AuthError as err:
        call["auth"] = {"kind": "rejected", "reason": err.reason}
        log.info("%s %s: authentication failed (%s)", request.method, request.path, err.reason)
        raise ApiError(err.status, err.code, err.msg) from None
    call["auth"] = {"kind": who.kind, "id": who.identity}
    _check_project(project_id, who.project_id)
    sim.throttle()

    firing = sim.faults.fire(endpoint, job_ids)
    call["fault"] = firing.kinds or None
    await sleep_ms(firing.latency_ms)
    terminal = firing.terminal
    if terminal is not None and not terminal.after_processing:
        return await misbehave(terminal)

    check_language(request.headers.get("X-Language"))
    response_body = process(
        sim,
        endpoint=endpoint,
        project_id=project_id,
        content_type=request.content_type,
        body=body,
        firing=firing,
    )
    call["results"] = response_body.get("results")
    if endpoint == LIST_ENDPOINT:
        call["listed"] = len(response_body["jobs"])
    key, id_key = RESULTS_KEY.get(endpoint, "results"), ID_KEY.get(endpoint, "id")
    apply_missing(firing, response_body, sim.rng.randrange, key, id_key)
    if terminal is not None:
        return await misbehave(terminal)  # the answer carries none of the results
    if endpoint in PER_JOB_ENDPOINTS:
        call["answered_ids"] = answered_ids(response_body.get(key), id_key)
    return json_response(200, response_body)


def process(
    sim: Simulator,
    *,
    endpoint: str,
    project_id: str,
    content_type: str,
    body: bytes,
    firing: Firing,
) -> dict[str, Any]:
    data = parse_json_object(content_type, body)
    if endpoint == "pause":
        jobs = parse_pause(data, sim.config.max_jobs)
        results = sim.pause(project_id, jobs, firing.job_error_for)
        return {"results": sim.shuffled(results), "count": len(results)}
    if endpoint == "retry":
        ids = parse_retry(
            data, sim.config.max_jobs, require_re_edit=sim.config.retry_requires_sync_re_edit
        )
        results = sim.resume(project_id, ids, firing.job_error_for)
        return {"results": sim.shuffled(results), "count": len(results)}
    if endpoint == "progress":
        ids = parse_progress(data, sim.config.max_jobs)
        results = sim.progress(project_id, ids)
        return {"count": len(results), "results": sim.shuffled(results)}
    if endpoint == LIST_ENDPOINT:
        list_query = parse_list(data, page_required=sim.config.list_page_required)
        listed, total = sim.list_jobs(project_id, list_query)
        return {"total_record": total, "jobs": listed}
    query = parse_status(data, sim.config.max_jobs)
    results, total = sim.status(project_id, query)
    return {"results": sim.shuffled(results), "count": total}


# --- IAM ----------------------------------------------------------------------------------------


def _iam_bad(msg: str) -> ApiError:
    return ApiError(400, "400", body=codes.iam_error_body(400, msg, "Bad Request"))


def _dig(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


async def token_handler(request: web.Request) -> web.StreamResponse:
    sim = request.app[SIMULATOR_KEY]
    call = request[CALL_KEY]
    call["endpoint"] = "token"
    body = await read_body(request, sim.config.max_body_bytes)
    await sleep_ms(sim.config.latency_ms)
    try:
        data = parse_json_object(request.content_type, body)
    except ApiError:
        raise _iam_bad("The request body is not a JSON object.") from None
    methods = _dig(data, "auth", "identity", "methods")
    user = _dig(data, "auth", "identity", "password", "user")
    name, password = _dig(user, "name"), _dig(user, "password")
    domain = _dig(user, "domain", "name")
    if not isinstance(methods, list) or not methods or any(m != "password" for m in methods):
        raise _iam_bad("Only the password identity method is supported here.")
    if not all(isinstance(v, str) and v for v in (name, password, domain)):
        raise _iam_bad("auth.identity.password.user needs name, password and domain.name.")
    scope = _dig(data, "auth", "scope", "project")
    if not isinstance(scope, dict) or not any(
        isinstance(scope.get(k), str) and scope.get(k) for k in ("id", "name")
    ):
        raise _iam_bad("auth.scope.project needs an id or a name.")
    call["auth"] = {"kind": "password", "id": f"{name[:64]}@{domain[:64]}"}

    firing = sim.faults.fire("token", [])
    call["fault"] = firing.kinds or None
    await sleep_ms(firing.latency_ms)
    if firing.terminal is not None and not firing.terminal.after_processing:
        return await misbehave(firing.terminal)

    if not sim.auth.login(name, password, domain):
        log.info("IAM login refused for user %r", name[:64])
        body_401 = codes.iam_error_body(401, "The username or password is wrong.", "Unauthorized")
        return json_response(401, body_401)
    project_id, project_name = sim.resolve_project(domain, scope)
    if not PROJECT_RE.match(project_id):
        raise _iam_bad("auth.scope.project.id is invalid.")
    token, issued = sim.auth.issue(
        name, domain, project_id, project_name, sim.config.token_ttl_seconds
    )
    domain_ref = {"id": _stable_id(domain), "name": domain}
    answer = {
        "token": {
            "methods": ["password"],
            "expires_at": iso_millis(issued.expires_at),
            "issued_at": iso_millis(issued.issued_at),
            "user": {"id": _stable_id(f"{domain}/{name}"), "name": name, "domain": domain_ref},
            "project": {"id": project_id, "name": project_name, "domain": domain_ref},
            "roles": [{"id": "0", "name": "te_admin"}],
            "catalog": [],
        }
    }
    if firing.terminal is not None:
        return await misbehave(firing.terminal)
    return json_response(201, answer, {"X-Subject-Token": token})


def _stable_id(text: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, text).hex


# --- admin API ----------------------------------------------------------------------------------


async def _admin_json(request: web.Request) -> Any:
    body = await read_body(request, 16 << 20)
    try:
        return json.loads(body.decode("utf-8")) if body else None
    except (ValueError, RecursionError):
        raise _admin_bad("the body is not JSON") from None


def _admin_bad(msg: str) -> ApiError:
    return ApiError(400, "SIM.BadRequest", msg)


def _validation_message(err: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in err.errors()
    )


async def admin_list_tasks(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR_KEY]
    project = request.query.get("project_id")
    tasks = [
        t.to_dict() for t in sim.store.all() if project is None or t.project_id in (None, project)
    ]
    return json_response(200, {"tasks": tasks, "count": len(tasks)})


async def admin_get_task(request: web.Request) -> web.Response:
    task = request.app[SIMULATOR_KEY].store.get(request.match_info["task_id"])
    if task is None:
        raise ApiError(404, "SIM.NotFound", "no such task")
    return json_response(200, task.to_dict())


async def admin_set_delay(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR_KEY]
    task = sim.store.get(request.match_info["task_id"])
    if task is None:
        raise ApiError(404, "SIM.NotFound", "no such task")
    data = await _admin_json(request)
    if not isinstance(data, dict):
        raise _admin_bad('expected {"delay_seconds", "delay_growth_per_second", ...}')
    try:
        update = DelayUpdate.model_validate(data)
    except ValidationError as err:
        raise _admin_bad(_validation_message(err)) from None
    update.apply(sim.store, task)
    return json_response(200, task.to_dict())


async def admin_seed_tasks(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR_KEY]
    data = await _admin_json(request)
    replace = request.method == "PUT"
    if isinstance(data, dict):
        replace = replace or bool(data.get("replace", False))
        data = data.get("tasks")
    if not isinstance(data, list):
        raise _admin_bad('expected a list of tasks or {"tasks": [...], "replace": bool}')
    try:
        seeds = [TaskSeed.model_validate(item) for item in data]
    except ValidationError as err:
        raise _admin_bad(_validation_message(err)) from None
    added = sim.store.seed(seeds, replace=replace)
    return json_response(200, {"tasks": [t.to_dict() for t in added], "count": len(added)})


async def admin_bulk_seed(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR_KEY]
    data = await _admin_json(request)
    if not isinstance(data, dict):
        raise _admin_bad('expected {"count": N, ...task fields...}')
    try:
        spec = BulkSeed.model_validate(data)
        seeds = spec.seeds()
    except ValidationError as err:
        raise _admin_bad(_validation_message(err)) from None
    added = sim.store.seed(seeds, replace=spec.replace)
    return json_response(200, {"ids": [t.id for t in added], "count": len(added)})


async def admin_clear_tasks(request: web.Request) -> web.Response:
    request.app[SIMULATOR_KEY].store.clear()
    return json_response(200, {"tasks": [], "count": 0})


async def admin_list_faults(request: web.Request) -> web.Response:
    faults = request.app[SIMULATOR_KEY].faults.list()
    return json_response(200, {"faults": faults, "count": len(faults)})


async def admin_add_faults(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR_KEY]
    data = await _admin_json(request)
    items = data if isinstance(data, list) else [data]
    try:
        rules = [FaultRule.model_validate(item) for item in items]
    except ValidationError as err:
        raise _admin_bad(_validation_message(err)) from None
    added = [sim.faults.add(rule).to_dict() for rule in rules]
    return json_response(200, {"faults": added, "count": len(added)})


async def admin_clear_faults(request: web.Request) -> web.Response:
    request.app[SIMULATOR_KEY].faults.clear()
    return json_response(200, {"faults": [], "count": 0})


async def admin_delete_fault(request: web.Request) -> web.Response:
    faults = request.app[SIMULATOR_KEY].faults
    fault_id = request.match_info["fault_id"]
    before = len(faults.faults)
    faults.faults = [f for f in faults.faults if str(f.id) != fault_id]
    if len(faults.faults) == before:
        raise ApiError(404, "SIM.NotFound", "no such fault")
    return json_response(200, {"deleted": fault_id})


async def admin_get_config(request: web.Request) -> web.Response:
    return json_response(200, request.app[SIMULATOR_KEY].config.model_dump())


async def admin_patch_config(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR_KEY]
    data = await _admin_json(request)
    if not isinstance(data, dict):
        raise _admin_bad("expected a JSON object of settings")
    try:
        config = sim.configure(data)
    except ValidationError as err:
        raise _admin_bad(_validation_message(err)) from None
    return json_response(200, config.model_dump())


async def admin_list_tokens(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR_KEY]
    now = sim.auth.now()
    tokens = [
        {
            "fingerprint": fingerprint(token),
            "user": issued.user,
            "domain": issued.domain,
            "project_id": issued.project_id,
            "expires_at": iso_millis(issued.expires_at),
            "expired": now >= issued.expires_at,
        }
        for token, issued in sim.auth.issued.items()
    ]
    return json_response(200, {"tokens": tokens, "count": len(tokens)})


async def admin_expire_tokens(request: web.Request) -> web.Response:
    return json_response(200, {"expired": request.app[SIMULATOR_KEY].auth.expire_all()})


async def admin_list_calls(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR_KEY]
    try:
        since = int(request.query.get("since", "0"))
    except ValueError:
        raise _admin_bad("since must be an integer") from None
    endpoint = request.query.get("endpoint")
    endpoint = ENDPOINT_ALIASES.get(endpoint, endpoint) if endpoint else None
    if request.query.get("in_flight") in ("1", "true"):
        calls = sim.calls.in_flight(endpoint, request.query.get("job_id"))
    else:
        calls = sim.calls.list(endpoint, since, request.query.get("job_id"))
    return json_response(200, {"calls": calls, "count": len(calls)})


async def admin_clear_calls(request: web.Request) -> web.Response:
    request.app[SIMULATOR_KEY].calls.clear()
    return json_response(200, {"calls": [], "count": 0})


async def admin_stats(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR_KEY]
    by_status: dict[str, int] = {}
    by_endpoint: dict[str, int] = {}
    jobs_by_endpoint: dict[str, dict[str, int]] = {}
    for call in sim.calls.entries:
        key = str(call["status"]) if call["status"] is not None else "dropped"
        by_status[key] = by_status.get(key, 0) + 1
        by_endpoint[call["endpoint"]] = by_endpoint.get(call["endpoint"], 0) + 1
        per_job = jobs_by_endpoint.setdefault(call["endpoint"], {})
        for job_id in set(call["job_ids"]):
            per_job[job_id] = per_job.get(job_id, 0) + 1
    stats = {
        "calls": len(sim.calls.entries),
        "throttled": sim.throttled,
        "by_status": by_status,
        "by_endpoint": by_endpoint,
        "requests_per_job": {k: v for k, v in jobs_by_endpoint.items() if v},
    }
    return json_response(200, stats)


async def admin_reset(request: web.Request) -> web.Response:
    request.app[SIMULATOR_KEY].reset()
    return json_response(200, {"reset": True})


async def healthz(request: web.Request) -> web.Response:
    return json_response(200, {"status": "ok"})


async def openapi(request: web.Request) -> web.Response:
    return json_response(200, openapi_document(request.app[SIMULATOR_KEY].config.max_jobs))


# --- factory ------------------------------------------------------------------------------------


def create_app(sim: Simulator) -> web.Application:
    """The aiohttp application serving ``sim``."""
    # Bodies are read by read_body with their own limit; this only bounds request.read().
    app = web.Application(middlewares=[request_middleware], client_max_size=DRAIN_LIMIT)
    app[SIMULATOR_KEY] = sim
    operations = "{operation:" + "|".join(ENDPOINTS) + "}"
    app.router.add_post("/v3/{project_id}/jobs/" + operations, drs_handler)
    app.router.add_post("/v3/{project_id}/jobs", drs_handler)
    app.router.add_post("/v3/auth/tokens", token_handler)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/openapi.json", openapi)
    if sim.admin_enabled:
        r = app.router
        r.add_get("/admin/tasks", admin_list_tasks)
        r.add_post("/admin/tasks", admin_seed_tasks)
        r.add_put("/admin/tasks", admin_seed_tasks)
        r.add_delete("/admin/tasks", admin_clear_tasks)
        r.add_post("/admin/tasks/bulk", admin_bulk_seed)
        r.add_get("/admin/tasks/{task_id}", admin_get_task)
        r.add_patch("/admin/tasks/{task_id}/delay", admin_set_delay)
        r.add_get("/admin/faults", admin_list_faults)
        r.add_post("/admin/faults", admin_add_faults)
        r.add_delete("/admin/faults", admin_clear_faults)
        r.add_delete("/admin/faults/{fault_id}", admin_delete_fault)
        r.add_get("/admin/config", admin_get_config)
        r.add_patch("/admin/config", admin_patch_config)
        r.add_get("/admin/tokens", admin_list_tokens)
        r.add_post("/admin/tokens/expire", admin_expire_tokens)
        r.add_get("/admin/calls", admin_list_calls)
        r.add_delete("/admin/calls", admin_clear_calls)
        r.add_get("/admin/stats", admin_stats)
        r.add_post("/admin/reset", admin_reset)
    return app
