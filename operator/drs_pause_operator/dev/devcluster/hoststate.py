"""What a local node leaves on the host, and how it goes when the last node stops.

The kubelet and containerd use some host paths whatever they are told (HOST_LEFTOVERS: the
device-plugins socket, /var/log/containers links, libcni's cache, the shims' sockets, the pods'
network namespaces). Before the first node of this machine starts, :func:`enter` records which
of them existed; every node holds a shared lock on HOST_STATE and a record of its own, and the
last one to :func:`leave` removes what did not exist before. A node whose owner was killed
(SIGKILL: no cleanup ran) is cleaned up by the next node that enters: its shims, mounts and
cgroup.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import IO

CGROUP_ROOT = Path("/sys/fs/cgroup")
HOST_LEFTOVERS = ("/var/lib/kubelet", "/var/log/containers", "/var/lib/cni", "/run/containerd")
HOST_STATE = Path("/run/drs-pause-operator-node")


def enter(node_id: str, record: dict[str, object]) -> IO[str]:
    """Record what exists on the host before the first node starts, and NODE_ID's RECORD (pid,
    node_dir, socket, cgroup); returns the shared lock that the node holds until :func:`leave`."""
    HOST_STATE.mkdir(exist_ok=True)
    lock = open(HOST_STATE / "lock", "a+")  # noqa: SIM115 - held until leave()
    fcntl.flock(lock, fcntl.LOCK_EX)
    preexisting = HOST_STATE / "preexisting.json"
    if not preexisting.exists():
        preexisting.write_text(json.dumps(
            {p: os.path.lexists(p) for p in (*HOST_LEFTOVERS, "/run/netns")}))
    nodes = HOST_STATE / "nodes"
    nodes.mkdir(exist_ok=True)
    _clean_stale_nodes(nodes)
    (nodes / f"{node_id}.json").write_text(json.dumps(record))
    fcntl.flock(lock, fcntl.LOCK_SH)
    return lock


def leave(node_id: str, lock: IO[str]) -> None:
    """Drop NODE_ID's record; if no other node holds the lock, remove what the nodes created."""
    (HOST_STATE / "nodes" / f"{node_id}.json").unlink(missing_ok=True)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()  # another node is still running: it cleans up when it stops
        return
    try:
        record = HOST_STATE / "preexisting.json"
        existed = json.loads(record.read_text()) if record.exists() else {}
        for path in HOST_LEFTOVERS:
            if existed.get(path) is False and os.path.lexists(path):
                shutil.rmtree(path, ignore_errors=True)
        if existed.get("/run/netns") is False:  # containerd made it for pods' namespaces
            with contextlib.suppress(OSError):
                os.rmdir("/run/netns")  # only when empty
        with contextlib.suppress(OSError):
            (HOST_STATE / "nodes").rmdir()  # only when no record of a stale node is left
            record.unlink(missing_ok=True)
            (HOST_STATE / "lock").unlink(missing_ok=True)
            HOST_STATE.rmdir()
    finally:
        lock.close()


def remove_pod_log_links(pod_logs_dir: Path) -> None:
    """The kubelet's /var/log/containers links into one node's pod logs."""
    containers = Path("/var/log/containers")
    if not containers.is_dir():
        return
    logs = str(pod_logs_dir)
    for link in containers.iterdir():
        if link.is_symlink() and os.readlink(link).startswith(logs):
            link.unlink(missing_ok=True)


def create_cgroup(name: str) -> None:
    """A node's cgroupRoot, in every mounted hierarchy (the kubelet requires it)."""
    for hierarchy in _hierarchies():
        path = hierarchy / name
        path.mkdir(exist_ok=True)
        for knob in ("cpuset.cpus", "cpuset.mems"):  # a v1 cpuset starts empty
            if (path / knob).exists() and not (path / knob).read_text().strip():
                (path / knob).write_text((hierarchy / knob).read_text())


def kill_shims(socket: Path) -> None:
    """containerd's shims outlive it by design; end the ones of one node by pid."""
    needle = str(socket).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"containerd-shim" in cmdline and needle in cmdline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry.name), signal.SIGKILL)


def unmount_under(directory: Path) -> None:
    prefix = str(directory.resolve()) + "/"
    mounts = []
    try:
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            point = line.split()[4].encode().decode("unicode_escape")
            if point.startswith(prefix):
                mounts.append(point)
    except OSError:
        return
    for point in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)


def _hierarchies() -> list[Path]:
    if not CGROUP_ROOT.is_dir():
        return []
    return [p for p in CGROUP_ROOT.iterdir() if p.is_dir() and (p / "cgroup.procs").exists()]


def remove_cgroup(name: str) -> None:
    """The node's cgroupRoot in every hierarchy: remaining processes killed, then rmdir."""
    for hierarchy in _hierarchies():
        root = hierarchy / name
        if not root.is_dir():
            continue
        dirs = sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts),
                      reverse=True)
        for path in [*dirs, root]:
            for attempt in range(20):
                try:
                    for pid in (path / "cgroup.procs").read_text().split():
                        os.kill(int(pid), signal.SIGKILL)
                    path.rmdir()
                    break
                except (OSError, ValueError):
                    time.sleep(0.1 * (attempt + 1) if attempt < 5 else 0.5)


def _clean_stale_nodes(records: Path) -> None:
    """Nodes whose owning process was killed (SIGKILL: no cleanup ran): their containers' shims,
    mounts and cgroups go now. containerd and the kubelet died with their owner already."""
    for record in records.glob("*.json"):
        try:
            info = json.loads(record.read_text())
            os.kill(int(info["pid"]), 0)
            continue  # its owner is alive
        except ProcessLookupError:
            pass
        except (OSError, ValueError, KeyError):
            continue
        kill_shims(Path(info["socket"]))
        remove_cgroup(info["cgroup"])
        unmount_under(Path(info["node_dir"]))
        record.unlink(missing_ok=True)
        _remove_orphan_pod_netns()


def _remove_orphan_pod_netns(min_age: float = 120.0) -> None:
    """Pod network namespaces (containerd's /run/netns/cni-*) that no process is in any more and
    that are older than MIN_AGE seconds (a live node starts its sandbox's pause process in its
    namespace within seconds): what the sandboxes of a killed node leave behind."""
    base = Path("/run/netns")
    if not base.is_dir():
        return
    in_use = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                in_use.add(os.stat(entry / "ns" / "net").st_ino)
    for path in base.glob("cni-*"):
        try:
            info = path.stat()
        except OSError:
            continue
        if info.st_ino not in in_use and time.time() - info.st_mtime > min_age:
            subprocess.run(["umount", str(path)], capture_output=True, check=False)
            with contextlib.suppress(OSError):
                path.unlink()
