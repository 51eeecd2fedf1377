"""Text from a submission, made safe to show: no control characters, and a bounded length.

Whatever a child reports (an error message, what it printed, a forged record) passes
through `clean` before it is printed or written to results.json: an ANSI escape could
repaint the learner's terminal, and a 12 MB string would flood it.
"""

import re
import shutil
import subprocess
from pathlib import Path

MESSAGE_CHARACTERS = 2000  # one message as shown to a learner
# Every C0 and C1 control character but newline (tab becomes a space), and DEL.
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def clean(text: object, limit: int = MESSAGE_CHARACTERS) -> str:
    """`text` as a string without control characters, cut to `limit` characters with a note."""
    text = _CONTROL.sub(lambda match: " " if match.group() == "\t" else "", str(text))
    if len(text) > limit:
        text = text[:limit] + f" ... ({len(text) - limit} more characters not shown)"
    return text


def remove_tree(path: Path) -> None:
    """Remove a folder whatever it holds (deep trees, odd permissions, odd names); never raises."""
    path = Path(path)
    try:
        shutil.rmtree(path)
        return
    except FileNotFoundError:
        return
    except (OSError, RecursionError):  # too deep for shutil's recursion, or a folder without rights
        pass
    # GNU chmod and rm walk with fts: no recursion limit, and they go on past what they cannot do.
    subprocess.run(["chmod", "-R", "u+rwx", "--", str(path)], check=False, capture_output=True)
    subprocess.run(["rm", "-rf", "--one-file-system", "--", str(path)], check=False, capture_output=True)
