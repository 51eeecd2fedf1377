"""Copies checked, not trusted: every block the NumPy track copies from the PyTorch track is marked,
and each marked copy is still the same as its original.

The NumPy track (solutions/numpy/) repeats some of the PyTorch track (solutions/) on purpose:
`EncoderConfig`, the code of `hf_weight_names`, the equations and shape contracts in the
docstrings. Each such copy carries a marker, a comment line in the manner of Hugging Face's
`# Copied from transformers.models.bert...` (utils/check_copies.py), directly above what it
marks:

    # Same as solutions/<file>.py: <target>[ with <old>-><new>[, <old>-><new>]...]

where <target> is one of

    <Name>                                the whole definition below (decorators, signature,
                                          docstring, body): the same as <Name> in <file>
    <Name> code                           the same, with the two docstrings of <Name> left out
    <Name> docstring                      the docstring of the definition below, every block
    <Name> docstring except "<a>", "<b>"  ... every block but those that open with <a>, <b>
    module docstring [except ...]         the module docstring (the marker sits above it)

<Name> is a class or function of <file>, dotted for a method (`EncoderLayer.forward`). A
docstring's blocks are its paragraphs and sections, as `inspect.cleandoc` gives them, split
at blank lines; `except "<a>"` leaves out the block whose first line opens with <a> in either
docstring (the block each track says its own way: the NumPy track's title line, its dtype
pitfalls). What is not excepted must be the same, in the same order: a paragraph added to one
track only is a drift too. Several markers may stand one above the other; what they mark is
the first line below them that is not a marker.

Normalisation, before comparing, and nothing else (comments, blank lines and spacing count):
  1. marker lines are left out of both blocks (a marked class may hold marked methods);
  2. both blocks are dedented, so a copy may sit at another depth;
  3. each `with <old>-><new>` replaces <old> by <new> in the original, in the order given
     (NumPy's names for torch's: `torch.Tensor->np.ndarray`).

Markers live outside the solution regions, so `kata stubs` keeps them in exercises/numpy/
(they tell a NumPy learner what is the same as in the PyTorch track); only solutions/ is checked.

A copy that is not marked is caught too: a definition the NumPy track repeats word for word,
or a docstring block it shares with the definition of the same name, must be marked.
"""

import ast
import difflib
import inspect
import re
import textwrap
from dataclasses import dataclass, field

import pytest

from kata import COURSE, REPO, SOLUTIONS, track_folder

pytestmark = pytest.mark.maintainer

MARKER_START = "# Same as "
MARKER = re.compile(
    r"^# Same as (?P<path>solutions/[\w/]+\.py): "
    r"(?P<name>[A-Za-z_][\w.]*)"
    r"(?: (?P<part>code|docstring(?: except (?P<excepted>\"[^\"]+\"(?:, \"[^\"]+\")*))?))?"
    r"(?: with (?P<replacements>\S+->\S+(?:, \S+->\S+)*))?$"
)
HOW_TO_FIX = (
    "Make the two the same again (change both tracks together), or, where the NumPy track "
    'differs on purpose, say so in the marker (except "<opening words>" for a docstring block, '
    "with <old>-><new> for a systematic rename) or remove it; the format is in "
    "maintainer_tests/test_copies.py"
)


class CopyError(AssertionError):
    pass


@dataclass
class Marker:
    where: str  # path:line of the marker, for messages
    original: str  # the original file, relative to the repository
    name: str  # "module" or a dotted definition name
    part: str  # "all", "code" or "docstring"
    excepted: tuple = ()  # docstring blocks left out, by their opening words
    replacements: tuple = ()  # (old, new) applied to the original
    line: int = 0  # 1-based line of the marker in its file
    text: str = field(default="", repr=False)


def parse_marker(text, where):
    match = MARKER.match(text.strip())
    if not match:
        raise CopyError(
            f"{where}: {text.strip()!r} is not a copy marker of the documented form "
            f"'# Same as solutions/<file>.py: <Name>[ code| docstring[ except \"...\"]][ with a->b]' "
            "(maintainer_tests/test_copies.py)"
        )
    part = (match["part"] or "all").split(" ")[0]
    if match["name"] == "module" and part != "docstring":
        raise CopyError(f"{where}: a marker of the module can only be 'module docstring'")
    excepted = tuple(re.findall(r"\"([^\"]+)\"", match["excepted"] or ""))
    replacements = tuple(
        tuple(pair.split("->", 1)) for pair in (match["replacements"] or "").split(", ") if pair
    )
    return Marker(where, match["path"], match["name"], part, excepted, replacements)


def is_marker(line):
    return line.strip().startswith(MARKER_START)


# ---- finding what a marker marks, and the original -----------------------------------------


def definitions(tree):
    """{dotted name: node} for every class and function, methods as Class.method."""
    found = {}

    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                found[prefix + child.name] = child
                walk(child, prefix + child.name + ".")

    walk(tree, "")
    return found


def first_line(node):
    return min([node.lineno] + [decorator.lineno for decorator in node.decorator_list])


def module_docstring_node(tree):
    if tree.body and isinstance(tree.body[0], ast.Expr) and isinstance(tree.body[0].value, ast.Constant):
        if isinstance(tree.body[0].value.value, str):
            return tree.body[0]
    return None


def docstring_node(node):
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        if isinstance(body[0].value.value, str):
            return body[0]
    return None


def markers_in(text, shown):
    """(marker, the node it marks: a definition, or the module docstring's Expr) for each marker of `text`."""
    lines = text.splitlines()
    tree = ast.parse(text)
    starts = {first_line(node): node for node in definitions(tree).values()}
    docstring = module_docstring_node(tree)
    if docstring is not None:
        starts.setdefault(docstring.lineno, docstring)
    found = []
    for number, line in enumerate(lines, 1):
        if not is_marker(line):
            continue
        marker = parse_marker(line, f"{shown}:{number}")
        marker.line, marker.text = number, line.strip()
        below = number + 1
        while below <= len(lines) and is_marker(lines[below - 1]):
            below += 1
        node = starts.get(below)
        if node is None:
            raise CopyError(
                f"{marker.where}: the marker stands above no definition or module docstring "
                f"(line {below} is {lines[below - 1].strip() if below <= len(lines) else 'the end'!r}); "
                "put it on the line directly above the `def`, `class` (or its decorators) or docstring it marks"
            )
        if (marker.name == "module") != (node is docstring):
            raise CopyError(
                f"{marker.where}: 'module docstring' marks the module docstring and stands above it; "
                "a definition's marker names the definition"
            )
        found.append((marker, node))
    return found


def source_lines(node, lines, part):
    """The line numbers of a definition (part "all"), or of it without its own docstring (part "code"),
    marker lines left out."""
    keep = range(first_line(node), node.end_lineno + 1)
    if part == "code":
        doc = docstring_node(node)
        if doc is not None:
            keep = [n for n in keep if not doc.lineno <= n <= doc.end_lineno]
    return [n for n in keep if not is_marker(lines[n - 1])]


def source_of(node, lines, part):
    """The text of `source_lines`, dedented."""
    return textwrap.dedent("\n".join(lines[n - 1] for n in source_lines(node, lines, part)) + "\n")


def docstring_of(node):
    doc = node.value.value if isinstance(node, ast.Expr) else ast.get_docstring(node, clean=False)
    return inspect.cleandoc(doc) if doc else ""


def blocks(docstring):
    return [block.strip("\n") for block in re.split(r"\n[ \t]*\n", docstring) if block.strip()]


def replaced(text, replacements):
    for old, new in replacements:
        text = text.replace(old, new)
    return text


# ---- the check ------------------------------------------------------------------------


def drift_message(marker, copy_where, original_where, copy_text, original_text, what, first=None):
    """What drifted, where (`first`: the copy's first differing line, when known), the diff, and how to fix it."""
    renamed = " after the marker's replacements" if marker.replacements else ""
    diff = "".join(
        difflib.unified_diff(
            original_text.splitlines(keepends=True),
            copy_text.splitlines(keepends=True),
            fromfile=f"{original_where} (the original{renamed})",
            tofile=f"{copy_where} (the copy)",
        )
    )
    at = f", first at line {first}" if first else ""
    return (
        f"{copy_where}: the copy of {what} has drifted from {original_where}{at} "
        f"(marker {marker.where}: {marker.text!r}).\n{diff}\n{HOW_TO_FIX}"
    )


def check_marker(marker, node, copy_text, copy_path, original_text):
    """Raise CopyError unless what `marker` marks in `copy_text` is the same as its original."""
    copy_lines, original_lines = copy_text.splitlines(), original_text.splitlines()
    original_tree = ast.parse(original_text)
    if marker.name == "module":
        original_node = module_docstring_node(original_tree)
        if original_node is None:
            raise CopyError(f"{marker.where}: {marker.original} has no module docstring")
    else:
        original_node = definitions(original_tree).get(marker.name)
        if original_node is None:
            raise CopyError(
                f"{marker.where}: {marker.original} defines no {marker.name!r} (renamed or removed?); "
                "name the original's class or function, dotted for a method"
            )
    copy_where = f"{copy_path}:{node.lineno}"
    original_where = f"{marker.original}:{original_node.lineno}"
    what = "the module docstring" if marker.name == "module" else marker.name
    if marker.part in ("all", "code"):
        copy = source_of(node, copy_lines, marker.part)
        original = replaced(source_of(original_node, original_lines, marker.part), marker.replacements)
        if copy != original:
            shown = what if marker.part == "all" else f"{what} (its code, docstrings left out)"
            numbers = source_lines(node, copy_lines, marker.part)  # one per line of `copy`
            ours, theirs = copy.splitlines(), original.splitlines()
            pairs = enumerate(zip(ours, theirs, strict=False))
            differing = next((i for i, (a, b) in pairs if a != b), min(len(ours), len(theirs)))
            first = f"{copy_path}:{numbers[min(differing, len(numbers) - 1)]}"
            raise CopyError(drift_message(marker, copy_where, original_where, copy, original, shown, first))
        return
    copy_blocks = blocks(docstring_of(node))
    original_blocks = blocks(replaced(docstring_of(original_node), marker.replacements))
    for opening in marker.excepted:
        hits = [
            [block for block in side if block.splitlines()[0].strip().startswith(opening)]
            for side in (copy_blocks, original_blocks)
        ]
        if not any(hits) or any(len(hit) > 1 for hit in hits):
            raise CopyError(
                f'{marker.where}: except "{opening}" must open exactly one block of the docstring '
                f"in the copy or the original (it opens {len(hits[0])} in the copy, {len(hits[1])} in "
                "the original): give more of the block's first words, or drop it from the marker"
            )
    kept = [
        [block for block in side if not block.splitlines()[0].strip().startswith(marker.excepted or ("\0",))]
        for side in (copy_blocks, original_blocks)
    ]
    if kept[0] != kept[1]:
        copy, original = ("\n\n".join(side) + "\n" for side in kept)
        excepted = f" (blocks excepted: {', '.join(marker.excepted)})" if marker.excepted else ""
        raise CopyError(
            drift_message(marker, copy_where, original_where, copy, original, f"{what}'s docstring{excepted}")
        )


def check_text(copy_text, copy_path, read_original=None):
    """Check every marker of one file's text; return the markers. `read_original(path)` gives an original's text."""
    read_original = read_original or (lambda path: (REPO / path).read_text())
    found = markers_in(copy_text, copy_path)
    for marker, node in found:
        try:
            original_text = read_original(marker.original)
        except FileNotFoundError:
            raise CopyError(f"{marker.where}: {marker.original} does not exist") from None
        check_marker(marker, node, copy_text, copy_path, original_text)
    return [marker for marker, _ in found]


def solution_files():
    return sorted(path for path in SOLUTIONS.rglob("*.py") if "__pycache__" not in path.parts)


def shown(path):
    return path.relative_to(REPO).as_posix()


# ---- unmarked copies ------------------------------------------------------------------


def unmarked_copies(copy_text, copy_path, original_text, original_path):
    """What `copy_text` repeats from `original_text` without a marker that covers it (a list of messages)."""
    copy_tree, original_tree = ast.parse(copy_text), ast.parse(original_text)
    copy_lines, original_lines = copy_text.splitlines(), original_text.splitlines()
    marked = {}  # (node's line) -> set of parts its markers claim
    for marker, node in markers_in(copy_text, copy_path):
        marked.setdefault(node.lineno, set()).add(marker.part)
    copy_definitions, original_definitions = definitions(copy_tree), definitions(original_tree)

    def covered(name, parts):
        """A marker on `name` claims one of `parts`, or one on an enclosing definition claims all of it."""
        if parts & marked.get(copy_definitions[name].lineno, set()):
            return True
        enclosing = name.rsplit(".", 1)[0] if "." in name else None
        return enclosing is not None and covered_whole(enclosing)

    def covered_whole(name):
        return "all" in marked.get(copy_definitions[name].lineno, set()) or (
            "." in name and covered_whole(name.rsplit(".", 1)[0])
        )

    problems = []
    for name, node in copy_definitions.items():
        original = original_definitions.get(name)
        if original is None:
            continue
        where = f"{copy_path}:{node.lineno}"
        if source_of(node, copy_lines, "all") == source_of(original, original_lines, "all"):
            if not covered(name, {"all"}):
                problems.append(
                    f"{where}: {name} is {original_path}'s {name} word for word, unmarked: "
                    f"put `# Same as {original_path}: {name}` directly above it"
                )
            continue
        shared = set(blocks(docstring_of(node))) & set(blocks(docstring_of(original)))
        if shared and not covered(name, {"all", "docstring"}):
            opening = sorted(shared)[0].splitlines()[0].strip()
            problems.append(
                f"{where}: {name}'s docstring shares {len(shared)} block(s) with {original_path}'s "
                f"(such as {opening!r}), unmarked: put `# Same as {original_path}: {name} docstring "
                '[except "<opening words>", ...]` directly above it'
            )
    copy_doc, original_doc = module_docstring_node(copy_tree), module_docstring_node(original_tree)
    if copy_doc is not None and original_doc is not None:
        shared = set(blocks(docstring_of(copy_doc))) & set(blocks(docstring_of(original_doc)))
        if shared and "docstring" not in marked.get(copy_doc.lineno, set()):
            problems.append(
                f"{copy_path}:{copy_doc.lineno}: the module docstring shares {len(shared)} block(s) with "
                f"{original_path}'s, unmarked: put `# Same as {original_path}: module docstring "
                '[except "<opening words>", ...]` directly above it'
            )
    return problems


# ---- the tests ------------------------------------------------------------------------


def test_every_marked_copy_is_the_same_as_its_original():
    problems, count = [], 0
    for path in solution_files():
        try:
            count += len(check_text(path.read_text(), shown(path)))
        except CopyError as error:
            problems.append(str(error))
    assert not problems, "\n\n".join(problems)
    assert count > 0, (
        "no copy marker in solutions/: the NumPy track's copies are marked (this file's docstring)"
    )


def test_what_the_numpy_track_repeats_word_for_word_is_marked():
    problems = []
    for name in COURSE:
        copy, original = track_folder(SOLUTIONS, "numpy") / f"{name}.py", SOLUTIONS / f"{name}.py"
        problems += unmarked_copies(copy.read_text(), shown(copy), original.read_text(), shown(original))
    assert not problems, "\n".join(problems) + f"\n{HOW_TO_FIX}"


# ---- the check catches drift (on copies of the text, the repository untouched) -------------

NUMPY_ENCODER = track_folder(SOLUTIONS, "numpy") / "encoder.py"
NUMPY_ATTENTION = track_folder(SOLUTIONS, "numpy") / "attention.py"


def drifted(path, old, new):
    text = path.read_text()
    assert text.count(old) == 1, f"{shown(path)} no longer has {old!r} once: update this test"
    return text.replace(old, new)


def check_drifted(path, old, new):
    with pytest.raises(CopyError) as caught:
        check_text(drifted(path, old, new), shown(path))
    return str(caught.value)


def test_a_drifted_copy_of_a_whole_definition_is_caught_and_named():
    message = check_drifted(NUMPY_ENCODER, "    eps: float = 1e-12\n", "    eps: float = 1e-5\n")
    assert "the copy of EncoderConfig has drifted from solutions/encoder.py:" in message
    assert message.startswith(f"{shown(NUMPY_ENCODER)}:")
    assert "-    eps: float = 1e-12" in message and "+    eps: float = 1e-5" in message
    line = NUMPY_ENCODER.read_text().splitlines().index("    eps: float = 1e-12") + 1
    assert f"first at line {shown(NUMPY_ENCODER)}:{line} " in message
    assert "Make the two the same again" in message


def test_a_drifted_copy_of_code_is_caught():
    message = check_drifted(NUMPY_ENCODER, 'for kind in ("weight", "bias"):', 'for kind in ("weight",):')
    assert "the copy of hf_weight_names (its code, docstrings left out) has drifted" in message


def test_a_copy_with_renames_is_checked_after_the_renames():
    message = check_drifted(
        NUMPY_ENCODER,
        "    last_hidden_state: np.ndarray  # (B, L, D)",
        "    last_hidden_state: list  # (B, L, D)",
    )
    assert "the copy of EncoderOutput has drifted" in message


def test_a_drifted_docstring_block_is_caught_and_an_excepted_one_is_not():
    message = check_drifted(NUMPY_ATTENTION, "        context = weights v\n", "        out = weights v\n")
    assert "scaled_dot_product_attention's docstring" in message
    assert "-    context = weights v" in message and "+    out = weights v" in message
    # The title line differs between the tracks on purpose: the marker excepts it.
    check_text(drifted(NUMPY_ATTENTION, "(NumPy track): scaled", "(NumPy track), again: scaled"), "x.py")


def test_the_original_drifting_is_caught_as_well():
    torch_encoder = SOLUTIONS / "encoder.py"
    changed = drifted(torch_encoder, "    norm_first: bool = False\n", "    norm_first: bool = True\n")

    def read_original(path):
        return changed if path == shown(torch_encoder) else (REPO / path).read_text()

    with pytest.raises(CopyError, match="the copy of EncoderConfig has drifted"):
        check_text(NUMPY_ENCODER.read_text(), shown(NUMPY_ENCODER), read_original)


def test_an_unmarked_word_for_word_copy_is_caught():
    text = "\n".join(line for line in NUMPY_ENCODER.read_text().splitlines() if not is_marker(line)) + "\n"
    original = SOLUTIONS / "encoder.py"
    problems = unmarked_copies(text, shown(NUMPY_ENCODER), original.read_text(), shown(original))
    assert any("EncoderConfig is solutions/encoder.py's EncoderConfig word for word" in p for p in problems)
    assert any("the module docstring shares" in p for p in problems)


@pytest.mark.parametrize(
    "marker, error",
    [
        ("# Same as solutions/encoder.py: EncoderConfig code please", "is not a copy marker"),
        ("# Same as solutions/encoder.py: EncoderKonfig", "defines no 'EncoderKonfig'"),
        ("# Same as solutions/nowhere.py: EncoderConfig", "solutions/nowhere.py does not exist"),
        (
            '# Same as solutions/encoder.py: EncoderConfig docstring except "Nothing like it"',
            "exactly one block",
        ),
    ],
)
def test_a_broken_marker_is_reported_where_it_is(marker, error):
    text = drifted(NUMPY_ENCODER, "# Same as solutions/encoder.py: EncoderConfig\n", marker + "\n")
    with pytest.raises(CopyError, match=re.escape(error)) as caught:
        check_text(text, shown(NUMPY_ENCODER))
    assert str(caught.value).startswith(f"{shown(NUMPY_ENCODER)}:")
