"""``kubectl drs``: the kubectl plugin (installed as the executable ``kubectl-drs``).

``cli`` holds the commands (click); ``build`` turns the flags of ``pause`` and ``plan`` into the
object they create; ``views`` renders the tables (rich, pure) and ``progress`` reads where an
object stands (pure); ``waiting`` follows an object after it was created (``pause --wait``,
``plan``); ``kube`` holds the kubeconfig handling and API calls (the kubernetes client). Nothing
here imports kopf or the operator's engine, so the plugin starts fast.
"""
