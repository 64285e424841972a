"""A local Kubernetes cluster built from Go modules, for tests and the demo.

``LocalControlPlane``: etcd + kube-apiserver only (the operator runs as a local process).
``LocalCluster`` (``node.py``): the same plus kube-controller-manager, kube-scheduler and one node
(containerd + kubelet) that runs the operator's image built from the Dockerfile (``image.py``).
"""

from .build import Binaries, DevClusterError, ensure_binaries
from .cluster import LocalControlPlane, free_port
from .node import LocalCluster

__all__ = [
    "Binaries",
    "DevClusterError",
    "LocalCluster",
    "LocalControlPlane",
    "ensure_binaries",
    "free_port",
]
