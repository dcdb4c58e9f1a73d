"""How much memory is available, and a check before a large allocation.

No psutil: ``MemAvailable`` from ``/proc/meminfo`` (Linux), else the free
physical pages from ``os.sysconf``; a cgroup (v2 or v1) memory limit lowers it
(containers, batch schedulers), and so does an address-space limit (``ulimit -v``). When nothing can be read the check is skipped.
"""

from __future__ import annotations

import os

GiB = 1024 ** 3


class InsufficientMemoryError(MemoryError):
    """An allocation was refused before it was tried: it needs more memory than is available."""


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", "rb") as f:
            for line in f:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _sysconf_available() -> int | None:
    try:
        pages, size = os.sysconf("SC_AVPHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
    return pages * size if pages > 0 and size > 0 else None


def _cgroup_headroom() -> int | None:
    """Limit minus usage of this process's memory cgroup, when it has a limit."""
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit_file) as f:
                text = f.read().strip()
            if text == "max":
                return None
            limit = int(text)
            if limit >= 1 << 60:  # cgroup v1's "no limit"
                return None
            with open(usage_file) as f:
                usage = int(f.read().strip())
            return max(limit - usage, 0)
        except (OSError, ValueError):
            continue
    return None


def _address_space_headroom() -> int | None:
    """RLIMIT_AS (``ulimit -v``) minus this process's virtual size, when there is such a limit."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft == resource.RLIM_INFINITY:
            return None
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmSize:"):
                    return max(soft - int(line.split()[1]) * 1024, 0)
    except (ImportError, OSError, ValueError, IndexError):
        pass
    return None


def available_bytes() -> int | None:
    """Bytes this process can still allocate without swapping, or None when it cannot be told."""
    free = _meminfo_available()
    if free is None:
        free = _sysconf_available()
    for limit in (_cgroup_headroom(), _address_space_headroom()):
        if limit is not None:
            free = limit if free is None else min(free, limit)
    return free


def gib(n_bytes: float) -> str:
    """``59.6 GiB`` (or MiB below one GiB)."""
    return f"{n_bytes / GiB:.1f} GiB" if n_bytes >= GiB / 10 else f"{n_bytes / 1024 ** 2:.1f} MiB"


def check_memory(n_bytes: float, what: str, fix: str = "") -> None:
    """Raise :class:`InsufficientMemoryError` when ``n_bytes`` exceed the memory available now.

    ``what`` names the allocation ("the weights of a 4-1000000000-3 network"); ``fix`` is
    appended to the message.
    """
    free = available_bytes()
    if free is None or n_bytes <= free:
        return
    raise InsufficientMemoryError(f"{what} need {gib(n_bytes)} of memory but only {gib(free)} is available"
                                  + (f"; {fix}" if fix else ""))
