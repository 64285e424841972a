from typing import Any

from kubernetes.client import ApiClient, Configuration

class ConfigException(Exception): ...

def load_incluster_config(
    client_configuration: Configuration | None = None, try_refresh_token: bool = True
) -> None: ...
def load_kube_config(
    config_file: str | None = None,
    context: str | None = None,
    client_configuration: Configuration | None = None,
    persist_config: bool = True,
    temp_file_path: str | None = None,
) -> None: ...
def new_client_from_config(
    config_file: str | None = None,
    context: str | None = None,
    persist_config: bool = True,
    client_configuration: Configuration | None = None,
) -> ApiClient: ...

# (contexts, the current context): each a kubeconfig `contexts` entry ({"name", "context"}).
def list_kube_config_contexts(
    config_file: str | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]: ...
