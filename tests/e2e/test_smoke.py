from __future__ import annotations

from .conftest import djp, get_status, new_job_id, operator_args, token_secret, wait_for


def test_smoke(cluster, namespace, simulator, start_operator):
    job = new_job_id()
    simulator.seed([{"id": job, "status": "INCRE_TRANSFER_STARTED"}])
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace))
    op = start_operator(operator_args(simulator.url, namespace))
    cluster.kubectl("apply", "-f", "-", input=djp(namespace, "one", [(job, "target")],
                                                  credentialsSecretRef={"name": "drs-credentials"}))
    try:
        status = wait_for(lambda: get_status(cluster, namespace, "one").get("phase") == "Paused"
                          and get_status(cluster, namespace, "one"), timeout=30)
    finally:
        print(op.log[-5000:])
    print(status)
    assert status["jobs"][0]["taskStatus"] == "PAUSING"
