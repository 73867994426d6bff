"""bpnn.fileio: atomic writes keep the old file on failure and give new files the umask's mode."""

from __future__ import annotations

import os
import stat

import pytest

from bpnn.fileio import atomic_write


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_new_files_respect_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        atomic_write(tmp_path / "f.txt", lambda f: f.write(b"x"))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f.txt").stat().st_mode) == mode
    assert os.umask(old) == old  # the umask is left as it was
