"""The memory a process may still take (``bpnn.memory``): a control group's limit binds (a
container, a job scheduler), v2 and v1, at the group or above it; no limit is no bound."""

from __future__ import annotations

from pathlib import Path

from bpnn import memory

GIB = 1 << 30


def group(root: Path, path: str, **files: str) -> None:
    folder = root / path.strip("/")
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name.replace("_", ".", 1)).write_text(text + "\n")


def membership(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "cgroup"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_v2_group_limit_less_its_usage(tmp_path):
    root = tmp_path / "fs"
    group(root, "/job/step", memory_max=str(2 * GIB), memory_current=str(GIB // 2))
    left = memory.cgroup_memory_left(root, membership(tmp_path, "0::/job/step"))
    assert left == 2 * GIB - GIB // 2


def test_the_reclaimable_page_cache_is_not_counted_as_used(tmp_path):
    """A group whose usage is mostly file cache (a file just read) still has room: the kernel
    drops the inactive cache before it refuses memory."""
    root = tmp_path / "fs"
    group(root, "/job", memory_max=str(2 * GIB), memory_current=str(2 * GIB - 4096))
    (root / "job" / "memory.stat").write_text(f"anon {GIB // 2}\ninactive_file {GIB}\n")
    left = memory.cgroup_memory_left(root, membership(tmp_path, "0::/job"))
    assert left == 2 * GIB - (2 * GIB - 4096 - GIB)


def test_a_limit_above_the_group_binds_too(tmp_path):
    root = tmp_path / "fs"
    group(root, "/job", memory_max=str(GIB), memory_current=str(GIB // 4))
    group(root, "/job/step", memory_max="max", memory_current=str(GIB // 8))
    left = memory.cgroup_memory_left(root, membership(tmp_path, "0::/job/step"))
    assert left == GIB - GIB // 4


def test_no_limit_is_no_bound(tmp_path):
    root = tmp_path / "fs"
    group(root, "/", memory_max="max", memory_current="123")
    group(root, "/user", memory_max="max", memory_current="100")
    assert memory.cgroup_memory_left(root, membership(tmp_path, "0::/user")) is None
    assert memory.cgroup_memory_left(root, tmp_path / "absent") is None


def test_a_v1_memory_controller(tmp_path):
    root = tmp_path / "fs"
    group(
        root,
        "/memory/docker/abc",
        memory_limit_in_bytes=str(3 * GIB),
        memory_usage_in_bytes=str(GIB),
    )
    # v1 writes "unlimited" as a number near 2**63 at the top
    group(root, "/memory", memory_limit_in_bytes=str(2**63 - 4096), memory_usage_in_bytes="5")
    (root / "memory" / "docker" / "abc" / "memory.stat").write_text(
        f"cache {GIB}\ninactive_file 7\ntotal_inactive_file {GIB // 4}\n"
    )
    lines = ("5:cpu,cpuacct:/docker/abc", "4:memory:/docker/abc", "0::/")
    left = memory.cgroup_memory_left(root, membership(tmp_path, *lines))
    assert left == 2 * GIB + GIB // 4


def test_the_cgroup_limit_lowers_the_memory_available(monkeypatch):
    monkeypatch.setattr(memory, "_meminfo_available", lambda: 20 * GIB)
    monkeypatch.setattr(memory, "_address_space_left", lambda: None)
    monkeypatch.setattr(memory, "cgroup_memory_left", lambda: GIB)
    assert memory.available_memory() == GIB
    monkeypatch.setattr(memory, "cgroup_memory_left", lambda: None)
    assert memory.available_memory() == 20 * GIB
    monkeypatch.setattr(memory, "_address_space_left", lambda: 3 * GIB)
    assert memory.available_memory() == 3 * GIB
    monkeypatch.setattr(memory, "_meminfo_available", lambda: 0)  # unknown: stream
    assert memory.available_memory() == 0
