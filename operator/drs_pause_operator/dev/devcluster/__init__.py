"""A local Kubernetes control plane (etcd + kube-apiserver built from Go modules) for tests and
the demo. No kubelet, scheduler or controller-manager: the operator runs as a local process."""

from .build import Binaries, DevClusterError, ensure_binaries
from .cluster import LocalControlPlane, free_port

__all__ = ["Binaries", "DevClusterError", "LocalControlPlane", "ensure_binaries", "free_port"]
