"""A faithful fake of the DRS (Data Replication Service) API as a real aiohttp HTTP server.

For tests, demos and users who want to try the operator without a cloud account. Modules:

- ``codes``: the error codes and messages it answers with.
- ``config``: the runtime settings (patchable through the admin API).
- ``state``: tasks and their state machine.
- ``delay``: a task's replication delay, exact from the clock.
- ``progress``: batch-progress answers and the admin call that sets a delay.
- ``faults``: fault injection rules.
- ``auth``: X-Auth-Token, AK/SK and IAM password verification; token issuing.
- ``core``: the service logic tying those together, independent of aiohttp.
- ``app``: the aiohttp application (DRS routes, IAM, admin API, call log).
- ``openapi``: the OpenAPI 3 description served at ``/openapi.json``.
- ``cli``: ``drs-pause-operator simulator``.
- ``testing``: helpers to run it in-process or as a subprocess from tests.
"""
