"""Bundled-model assembly from chunk files, with a made-up model and fake locate/pip seams."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import pytest

from paretext.errors import ConfigError
from paretext.lm import DEFAULT_MODEL, BundledModel, ModelInstaller, cache_dir, list_models
from paretext.lm._models import BUNDLED_MODELS, ModelPart, download_hf, resolve_model_file

CHUNKS = [b"GGUF" + b"a" * 60, b"b" * 64, b"c" * 17]


def tiny_model(sha: str | None = None) -> BundledModel:
    data = b"".join(CHUNKS)
    parts = tuple(
        ModelPart(f"tiny-part{i}", "1.0", f"tiny_part{i}/data/part{i:02d}.bin", len(chunk))
        for i, chunk in enumerate(CHUNKS, start=1)
    )
    return BundledModel(
        name="tiny",
        description="three chunks",
        filename="tiny.gguf",
        size=len(data),
        sha256=sha or hashlib.sha256(data).hexdigest(),
        parts=parts,
    )


class FakeSitePackages:
    """Chunk files on disk; ``pip`` 'installs' the ones it is asked for."""

    def __init__(self, root: Path, installed: set[int]) -> None:
        self.root = root
        self.installed = installed
        self.pip_calls: list[list[str]] = []

    def locate(self, part: ModelPart) -> Path | None:
        index = int(part.distribution.removeprefix("tiny-part"))
        if index not in self.installed:
            return None
        path = self.root / part.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(CHUNKS[index - 1])
        return path

    def pip(self, requirements: Sequence[str]) -> None:
        self.pip_calls.append(list(requirements))
        for requirement in requirements:
            self.installed.add(int(requirement.split("==")[0].removeprefix("tiny-part")))


def installer(tmp_path: Path, site: FakeSitePackages, model: BundledModel) -> ModelInstaller:
    return ModelInstaller(
        tmp_path / "cache", models={"tiny": model}, locate=site.locate, pip=site.pip
    )


def test_assembles_verifies_and_reuses(tmp_path: Path) -> None:
    site = FakeSitePackages(tmp_path / "site", {1, 2, 3})
    inst = installer(tmp_path, site, tiny_model())
    assert not inst.is_installed("tiny")
    messages: list[str] = []
    path = inst.install("tiny", progress=messages.append)
    assert path == tmp_path / "cache" / "models" / "tiny.gguf"
    assert path.read_bytes() == b"".join(CHUNKS)
    assert inst.is_installed("tiny") and any("assembling" in m for m in messages)
    site.installed.clear()  # the chunks are not needed again once verified
    assert inst.install("tiny") == path
    assert [i.installed for i in inst.available()] == [True]


def test_missing_chunks_are_pip_installed(tmp_path: Path) -> None:
    site = FakeSitePackages(tmp_path / "site", {2})
    path = installer(tmp_path, site, tiny_model()).install("tiny")
    assert site.pip_calls == [["tiny-part1==1.0", "tiny-part3==1.0"]]
    assert path.stat().st_size == tiny_model().size


def test_without_pip_the_error_names_the_packages(tmp_path: Path) -> None:
    site = FakeSitePackages(tmp_path / "site", {1})
    inst = ModelInstaller(tmp_path, models={"tiny": tiny_model()}, locate=site.locate, pip=None)
    with pytest.raises(ConfigError, match=r"tiny-part2==1\.0 tiny-part3==1\.0"):
        inst.install("tiny")


def test_a_checksum_mismatch_leaves_nothing_behind(tmp_path: Path) -> None:
    site = FakeSitePackages(tmp_path / "site", {1, 2, 3})
    inst = installer(tmp_path, site, tiny_model(sha="0" * 64))
    with pytest.raises(ConfigError, match="sha256"):
        inst.install("tiny")
    assert list((tmp_path / "cache" / "models").iterdir()) == []


def test_a_changed_file_is_no_longer_trusted(tmp_path: Path) -> None:
    site = FakeSitePackages(tmp_path / "site", {1, 2, 3})
    inst = installer(tmp_path, site, tiny_model())
    path = inst.install("tiny")
    path.write_bytes(b"GGUF" + b"x" * (tiny_model().size - 4))
    assert not inst.is_installed("tiny")
    assert inst.install("tiny").read_bytes() == b"".join(CHUNKS)


def test_unknown_names_and_paths(tmp_path: Path) -> None:
    site = FakeSitePackages(tmp_path / "site", set())
    inst = installer(tmp_path, site, tiny_model())
    with pytest.raises(ConfigError, match="no bundled model named 'huge'"):
        inst.install("huge")
    gguf = tmp_path / "own.gguf"
    gguf.write_bytes(b"GGUF")
    assert resolve_model_file(str(gguf), installer=inst) == gguf
    with pytest.raises(ConfigError, match="no GGUF file"):
        resolve_model_file(str(tmp_path / "missing.gguf"), installer=inst)
    with pytest.raises(ConfigError, match="unknown local model"):
        resolve_model_file("just-a-word", installer=inst)


def test_hugging_face_needs_its_extra_or_network(tmp_path: Path) -> None:
    # The hub is unreachable here: either huggingface_hub is missing (the usual case)
    # or the download fails; both must end as a ConfigError, never a hang or a traceback.
    with pytest.raises(ConfigError, match=r"Hugging Face|huggingface_hub"):
        download_hf("Qwen/Qwen2.5-0.5B-Instruct-GGUF", "qwen2.5-0.5b-instruct-q4_k_m.gguf")


def test_cache_dir_is_overridable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PARETEXT_CACHE_DIR", str(tmp_path / "pc"))
    assert cache_dir() == tmp_path / "pc"
    monkeypatch.delenv("PARETEXT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "paretext"
    assert ModelInstaller().models_dir == tmp_path / "xdg" / "paretext" / "models"


def test_the_bundled_catalogue_is_consistent(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PARETEXT_CACHE_DIR", str(tmp_path))
    infos = {info.name: info for info in list_models()}
    assert set(infos) == set(BUNDLED_MODELS) and infos[DEFAULT_MODEL].default
    assert not any(info.installed for info in infos.values())
    for model in BUNDLED_MODELS.values():
        assert len(model.sha256) == 64 and model.filename.endswith(".gguf")
        assert sum(p.size for p in model.parts) == model.size


def test_models_cli_lists_and_refuses_unknown_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from paretext.lm.models import cli

    monkeypatch.setenv("PARETEXT_CACHE_DIR", str(tmp_path))
    runner = CliRunner()
    listed = runner.invoke(cli, ["list"])
    assert listed.exit_code == 0
    assert f"* {DEFAULT_MODEL}" in listed.output and "not installed" in listed.output
    refused = runner.invoke(cli, ["install", "no-such-model"])
    assert refused.exit_code == 2
    assert "no bundled model named 'no-such-model'" in refused.output


def test_real_chunks_are_found_in_place_without_importing_them() -> None:
    import importlib.metadata
    import sys

    from paretext.lm._models import locate_part

    part = BUNDLED_MODELS[DEFAULT_MODEL].parts[0]
    try:
        importlib.metadata.distribution(part.distribution)
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("the 'local' extra (chunk packages) is not installed")
    path = locate_part(part)
    assert path is not None and path.stat().st_size == part.size
    assert path.read_bytes()[:4] == b"GGUF"
    assert part.distribution.replace("-", "_") not in sys.modules
    wrong_version = ModelPart(part.distribution, "0.0.1", part.path, part.size)
    assert locate_part(wrong_version) is None
