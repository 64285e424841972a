# The part of the `kubernetes` client the operator uses, typed. The package ships py.typed, but
# its config loaders are unannotated and its custom-object calls return `object`: these stubs
# say what the operator relies on (a custom object is a JSON object). tests/repo/test_types.py
# checks them against the installed package with mypy's stubtest.
from kubernetes import client as client
from kubernetes import config as config
