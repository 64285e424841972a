"""``kubectl drs``: the kubectl plugin (installed as the executable ``kubectl-drs``).

``cli`` holds the commands (click), ``views`` the tables and progress text (rich, pure), and
``kube`` the kubeconfig handling and API calls (the kubernetes client). Nothing here imports
kopf or the operator's engine, so the plugin starts fast.
"""
