"""Build the operator's image from the project's Dockerfile here: no Docker engine, no registry.

- A base image with the Dockerfile's Python, made from Debian's packages: ``mmdebstrap`` writes a
  root filesystem (python3, pip, venv, passwd, ca-certificates) and ``buildah`` turns it into an
  image with a few lines (see ``BASE_CONTAINERFILE``). Debian bookworm's python3 is 3.11, the
  Python of the Dockerfile's default ``python:3.11-slim-bookworm``.
- The real Dockerfile, built by ``buildah bud --isolation chroot`` with
  ``--build-arg PYTHON_IMAGE=<that base>``. Its RUN steps see this machine's CA bundle and pip
  configuration through read-only ``--volume`` mounts (package traffic may go through a proxy
  with its own CA): they are never copied into a layer.
- A ``pause`` image for the pod sandboxes, from the static Go ``pause`` binary of ``gomod/kube``.

Each image ends up as a ``docker-archive`` file that ``ctr images import`` takes, cached under
``~/.cache/drs-pause-operator/image/`` by a hash of its inputs (Dockerfile, .dockerignore,
pyproject.toml, uv.lock, README.md, scripts/locked_uv.py and the ``operator/`` tree; the base
recipe; the pause binary), so an unchanged tree costs nothing and a changed source file or a
re-locked dependency costs one Dockerfile build.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from .build import DevClusterError, _build_lock, cache_root

REPO_ROOT = Path(__file__).resolve().parents[4]
IMAGE_NAME = "localhost/drs-pause-operator"
BASE_NAME = "localhost/drs-pause-operator-base"
PAUSE_NAME = "localhost/drs-pause-operator-pause"
BASE_SUITE = "bookworm"  # python3 3.11, as in the Dockerfile's default python:3.11-slim-bookworm
BASE_PACKAGES = ("python3", "python3-pip", "python3-venv", "passwd", "ca-certificates")
# The public python image has pip on PATH without PEP 668's marker and a `python` command.
BASE_CONTAINERFILE = """\
FROM scratch
ADD rootfs.tar /
RUN rm -f /usr/lib/python3*/EXTERNALLY-MANAGED && ln -s /usr/bin/python3 /usr/local/bin/python
CMD ["python3"]
"""
PAUSE_CONTAINERFILE = """\
FROM scratch
COPY pause /pause
USER 65535:65535
ENTRYPOINT ["/pause"]
"""
# Files of the build context that decide the image (the rest is excluded by .dockerignore).
CONTEXT_FILES = ("Dockerfile", ".dockerignore", "pyproject.toml", "uv.lock", "README.md",
                 "scripts/locked_uv.py")
CONTEXT_DIRS = ("operator",)
KEEP_ARCHIVES = 3  # older operator image archives are removed
# buildah's chroot isolation re-executes itself from a sealed memfd copy of its binary
# (containers/storage pkg/unshare). Sealing waits a moment for other references to the copy's
# pages and then gives up with EBUSY; on a busy machine that happens now and then, before the
# RUN step has started, so the build is started again (bud removes its working container).
SEAL_BUSY = "sealing memfd copy: Device or resource busy"
SEAL_ATTEMPTS = 3
SEAL_PAUSE_S = 2.0


@dataclass(frozen=True)
class ImageArchive:
    """An image as a docker-archive file, and the reference it is tagged with inside."""

    reference: str
    archive: Path

    @property
    def repository(self) -> str:
        return self.reference.rsplit(":", 1)[0]

    @property
    def tag(self) -> str:
        return self.reference.rsplit(":", 1)[1]


def image_dir() -> Path:
    return cache_root() / "image"


def _digest(parts: list[bytes]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()[:12]


def _context_files(root: Path) -> list[Path]:
    files = [root / name for name in CONTEXT_FILES]
    for directory in CONTEXT_DIRS:
        for path in sorted((root / directory).rglob("*")):
            rel = path.relative_to(root).parts
            if not path.is_file() or "__pycache__" in rel or path.suffix in (".pyc", ".pyo"):
                continue
            if any(p.endswith(".egg-info") for p in rel):
                continue
            files.append(path)
    return files


def source_hash(root: Path = REPO_ROOT) -> str:
    """Hash of what the Dockerfile build reads, plus the base recipe."""
    parts = [base_hash().encode()]
    for path in _context_files(root):
        parts += [str(path.relative_to(root)).encode(), path.read_bytes()]
    return _digest(parts)


def base_hash() -> str:
    return _digest([BASE_SUITE.encode(), " ".join(BASE_PACKAGES).encode(),
                    BASE_CONTAINERFILE.encode()])


def host_build_mounts() -> list[str]:
    """``--volume`` options exposing this machine's CA bundle and pip configuration, read-only.

    Only files that exist are mounted, each at its own path. The image's own trust store is
    what the running operator uses; these are seen by the build's RUN steps only.
    """
    candidates = [
        os.environ.get("SSL_CERT_FILE") or "",
        "/etc/ssl/certs/ca-certificates.crt",
        os.environ.get("PIP_CONFIG_FILE") or "",
        "/etc/pip.conf",
        "/etc/xdg/pip/pip.conf",
    ]
    mounts, seen = [], set()
    for candidate in candidates:
        if candidate and candidate not in seen and os.path.isfile(candidate):
            seen.add(candidate)
            mounts.append(f"--volume={candidate}:{candidate}:ro")
    return mounts


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise DevClusterError(
            f"`{tool}` is not installed: building the operator's image needs Debian's buildah and "
            "mmdebstrap (apt-get install buildah mmdebstrap)."
        )
    return path


class Builder:
    """buildah with its own storage under the cache folder (never the machine's default)."""

    def __init__(self, log: Callable[[str], object] = print,
                 run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run) -> None:
        self.log = log
        self.run = run
        self.storage = image_dir() / "storage"
        self.driver = os.environ.get("DRS_PAUSE_STORAGE_DRIVER", "overlay")

    def _command(self, *args: str) -> list[str]:
        return [_require("buildah"), "--root", str(self.storage / "root"),
                "--runroot", str(self.storage / "run"), "--storage-driver", self.driver, *args]

    def buildah(self, *args: str, cwd: Path | None = None, what: str = "buildah") -> str:
        cmd = self._command(*args)
        for attempt in range(1, SEAL_ATTEMPTS + 1):
            proc = self.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
            if proc.returncode == 0:
                return proc.stdout
            output = (proc.stderr or proc.stdout).strip()
            if SEAL_BUSY not in output or attempt == SEAL_ATTEMPTS:
                break
            self.log(f"{what}: buildah could not seal its re-exec copy ({SEAL_BUSY}); "
                     f"attempt {attempt + 1} of {SEAL_ATTEMPTS}")
            time.sleep(SEAL_PAUSE_S)
        tail = "\n".join(output.splitlines()[-20:])
        raise DevClusterError(f"{what} failed: buildah {' '.join(args[:2])}\n{tail}")

    def has_image(self, reference: str) -> bool:
        cmd = self._command("inspect", "--type", "image", reference)
        return subprocess.run(cmd, capture_output=True, check=False).returncode == 0

    def bud(self, context: Path, containerfile: Path, reference: str, *extra: str,
            what: str) -> None:
        args = ("--layers=false", "--pull=never", "-f", str(containerfile), "-t", reference,
                *extra, str(context))
        try:
            self.buildah("bud", "--isolation", "chroot", *args, cwd=context, what=what)
        except DevClusterError as err:
            if SEAL_BUSY not in str(err) or shutil.which("runc") is None:
                raise
            # runc (installed for the node) copies itself through a read-only bind mount, not a
            # sealed memfd; the RUN steps keep the host's network, as under chroot.
            self.log(f"{what}: chroot isolation failed {SEAL_ATTEMPTS} times on the memfd seal; "
                     "building with runc (--isolation oci)")
            self.buildah("bud", "--isolation", "oci", "--network", "host", *args, cwd=context,
                         what=what)

    def save(self, reference: str, archive: Path) -> None:
        tmp = archive.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        self.buildah("push", "--quiet", reference, f"docker-archive:{tmp}:{reference}",
                     what=f"saving {reference}")
        tmp.replace(archive)


def ensure_base_image(builder: Builder) -> str:
    reference = f"{BASE_NAME}:{base_hash()}"
    if builder.has_image(reference):
        return reference
    builder.log(f"building the base image {reference} from Debian {BASE_SUITE} (mmdebstrap)")
    with tempfile.TemporaryDirectory(prefix="drs-base-", dir=image_dir()) as tmp:
        context = Path(tmp)
        proc = subprocess.run(
            [_require("mmdebstrap"), "--variant=minbase", "--include=" + ",".join(BASE_PACKAGES),
             "--dpkgopt=path-exclude=/usr/share/doc/*", "--dpkgopt=path-exclude=/usr/share/man/*",
             BASE_SUITE, str(context / "rootfs.tar")],
            capture_output=True, text=True, check=False,
        )
        if proc.returncode != 0:
            tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
            raise DevClusterError(f"mmdebstrap {BASE_SUITE} failed (Debian mirror reachable?)\n"
                                  f"{tail}")
        (context / "Containerfile").write_text(BASE_CONTAINERFILE)
        builder.bud(context, context / "Containerfile", reference, what="the base image")
    return reference


def ensure_operator_image(
    log: Callable[[str], object] = print, root: Path = REPO_ROOT
) -> ImageArchive:
    """The operator's image built from ``root``'s Dockerfile, as a cached docker-archive."""
    key = source_hash(root)
    image = ImageArchive(f"{IMAGE_NAME}:dev-{key}", image_dir() / f"operator-{key}.tar")
    if image.archive.exists():
        return image
    with _build_lock(image_dir()):
        if image.archive.exists():
            return image
        builder = Builder(log)
        base = ensure_base_image(builder)
        log(f"building {image.reference} from {root / 'Dockerfile'} (buildah, chroot isolation)")
        builder.bud(root, root / "Dockerfile", image.reference, f"--build-arg=PYTHON_IMAGE={base}",
                    *host_build_mounts(), what="the operator image")
        builder.save(image.reference, image.archive)
        builder.buildah("rmi", image.reference, what="removing the built image from storage")
        _prune(image_dir().glob("operator-*.tar"), keep=image.archive)
    return image


def ensure_pause_image(
    pause_binary: Path, log: Callable[[str], object] = print
) -> ImageArchive:
    """The sandbox ("pause") image: the static Go pause binary on an empty filesystem."""
    key = _digest([pause_binary.read_bytes(), PAUSE_CONTAINERFILE.encode()])
    image = ImageArchive(f"{PAUSE_NAME}:{key}", image_dir() / f"pause-{key}.tar")
    if image.archive.exists():
        return image
    with _build_lock(image_dir()):
        if image.archive.exists():
            return image
        builder = Builder(log)
        log(f"building the sandbox image {image.reference}")
        with tempfile.TemporaryDirectory(prefix="drs-pause-", dir=image_dir()) as tmp:
            context = Path(tmp)
            shutil.copy2(pause_binary, context / "pause")
            (context / "Containerfile").write_text(PAUSE_CONTAINERFILE)
            builder.bud(context, context / "Containerfile", image.reference, what="pause image")
        builder.save(image.reference, image.archive)
        builder.buildah("rmi", image.reference, what="removing the pause image from storage")
    return image


def _prune(archives: Iterable[Path], keep: Path) -> None:
    old = sorted((p for p in archives if p != keep), key=lambda p: p.stat().st_mtime)
    for path in old[: max(0, len(old) - (KEEP_ARCHIVES - 1))]:
        path.unlink(missing_ok=True)
