"""How much memory this process may still take, for choices that trade memory for speed (reading
a CSV file whole or streamed: ``bpnn.tables.read``).

``available_memory()`` is the least of what limits it on Linux: the system's available memory
(``MemAvailable``), what the process's control group still allows (a container's or a job
scheduler's limit, cgroup v2 ``memory.max`` or v1 ``memory.limit_in_bytes``, less what the group
uses, its reclaimable page cache not counted), and the address space left under ``ulimit -v``.
0 when unknown (not Linux): a caller then takes the way that needs least memory.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["available_memory", "cgroup_memory_left"]


def available_memory() -> int:
    """Bytes this process may still take (see the module); 0 when unknown."""
    available = _meminfo_available()
    if available == 0:
        return 0
    for left in (cgroup_memory_left(), _address_space_left()):
        if left is not None:
            available = min(available, left)
    return max(available, 0)


def _meminfo_available() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _address_space_left() -> int | None:
    """What ``ulimit -v`` leaves of the address space; None without a limit (or unknown)."""
    import resource

    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    if limit == resource.RLIM_INFINITY:
        return None
    try:
        with open("/proc/self/statm") as f:
            used = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0
    return limit - used


def cgroup_memory_left(
    root: str | os.PathLike = "/sys/fs/cgroup", membership: str | os.PathLike = "/proc/self/cgroup"
) -> int | None:
    """Bytes the process's control group still allows (its limit less its usage), the least over
    the group and the groups above it; None where no group limits memory (or none is found).

    root: where the cgroup file systems are mounted; membership: the process's groups, lines
    ``hierarchy:controllers:path`` (v2: ``0::/path``; v1: the line naming ``memory``)."""
    try:
        lines = Path(membership).read_text().splitlines()
    except OSError:
        return None
    root, least = Path(root), None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":  # v2: one hierarchy
            files, base = ("memory.max", "memory.current", "inactive_file"), root
        elif "memory" in controllers.split(","):  # v1: the memory controller's own hierarchy
            files = ("memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file")
            base = root / "memory"
        else:
            continue
        for group in _groups(base, path):
            left = _group_left(group, *files)
            if left is not None and (least is None or left < least):
                least = left
    return least


def _groups(base: Path, path: str) -> list[Path]:
    """The group at ``path`` under ``base`` and each group above it (a limit set higher up
    binds too)."""
    parts = [p for p in path.strip("/").split("/") if p]
    return [base.joinpath(*parts[:n]) for n in range(len(parts), -1, -1)]


def _group_left(group: Path, limit_file: str, usage_file: str, cache_key: str) -> int | None:
    """The group's limit less its usage; the usage counts the page cache, whose inactive part
    the kernel reclaims before it refuses memory (``memory.stat``'s ``cache_key``, as container
    runtimes count it), so that part is not taken as used."""
    try:
        limit_text = (group / limit_file).read_text().strip()
        usage = int((group / usage_file).read_text().strip())
    except (OSError, ValueError):
        return None
    if limit_text == "max" or not limit_text.isdigit():
        return None
    limit = int(limit_text)
    if limit >= 1 << 60:  # v1 writes "no limit" as a huge number
        return None
    return limit - max(0, usage - _stat(group, cache_key))


def _stat(group: Path, key: str) -> int:
    """One count of the group's ``memory.stat`` (0 when it is not there)."""
    try:
        for line in (group / "memory.stat").read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0
