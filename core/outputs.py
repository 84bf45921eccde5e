"""Output files a command will write, checked before it changes anything: an import must not be committed
and then fail on its error report."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from core.errors import UserError


def check_writable(path: str | Path, *, folder: bool = False) -> None:
    """UserError (Chinese) unless ``path`` can be written: a file whose folder exists and takes new files, or
    (``folder``) a folder that exists or can be made. Proven by creating and removing a file there, which
    also catches read-only shares and ACLs that ``os.access`` cannot see."""
    target = Path(path)
    if folder:
        if target.exists() and not target.is_dir():
            raise UserError(f"输出文件夹的位置已有一个同名文件：{target}")
        probe_in = target
        while not probe_in.exists():  # the folder is made later: its nearest existing parent must take it
            if probe_in.parent == probe_in:
                break
            probe_in = probe_in.parent
    else:
        if target.is_dir():
            raise UserError(f"输出文件的位置是一个文件夹：{target}")
        probe_in = target.parent
        if not probe_in.is_dir():
            raise UserError(f"文件无法读写：{probe_in}（文件或文件夹不存在）。未做任何改动。")
        if target.exists() and not os.access(target, os.W_OK):
            raise UserError(f"输出文件无法写入：{target}（文件只读，或正在 Excel/WPS 中打开；未做任何改动）")
    try:
        fd, probe = tempfile.mkstemp(prefix=".pension-write-check-", dir=probe_in)
    except OSError as exc:
        raise UserError(
            f"无法在 {probe_in} 中写入文件（{exc.strerror}）：请换一个可写的位置。未做任何改动。"
        ) from exc
    os.close(fd)
    os.unlink(probe)
