"""The attention pictures, `kata view`: PNGs that show every head and one
head large, and an interactive page that works offline in a real browser.

Marked `maintainer`: the command runs on the reference (solutions/) and on the pristine
stubs, so these run with `pytest --solutions` (the instructor's and CI's run), never on a
learner's `pytest`. The tests that open the page in headless chromium are also marked
`browser` (`-k "not browser"` leaves them out); without chromium or playwright they skip,
and .ci/run installs both, so CI always runs them.
"""

import contextlib
import io
import shutil

import numpy as np
import pytest
from matplotlib.image import imread

from kata import EXERCISES, SOLUTIONS, cli
from kata.core.compare import WHOLE_MODEL
from kata.core.exits import EXIT_CANNOT_RUN
from kata.core.weights import INSTALL_HINT
from kata.views import attention_view
from kata.views.attention_view import Attention, CannotShow, choose, encoder_attention

pytestmark = pytest.mark.maintainer

SENTENCE, PAIR = "The cat sat on the mat.", "It was asleep."
TOKENS = 14  # [CLS] the cat sat on the mat . [SEP] it was asleep . [SEP]
LAYER, HEAD = 2, 5
LAYERS, HEADS = 6, 12  # pretrained MiniLM
SOURCES = ("encoder", "bertmodel", "difference")
GRIDS = [f"layer{LAYER}_heads_{source}.png" for source in SOURCES]
LARGE = [f"layer{LAYER}_head{HEAD}_{source}.png" for source in SOURCES]


def run(*argv):
    """`kata view ...` in this process (the weights stay loaded): (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["view", *(str(arg) for arg in argv)])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def pictures(pretrained, tmp_path_factory):
    """The command run once on the reference: (the folder it wrote to, what it printed)."""
    folder = tmp_path_factory.mktemp("attention_view")
    arguments = (SENTENCE, "--pair", PAIR, "--solutions", "--layer", LAYER, "--head", HEAD, "--out", folder)
    code, printed, errors = run(*arguments)
    assert code == 0, f"kata view {' '.join(map(str, arguments))} exited {code}: {errors}"
    return folder, printed


def count_panels(picture):
    """Heatmap panels in a picture: each is framed by two long horizontal dark lines (its spines).

    A line is a run of dark pixels at least 100 px long in one pixel row; the same line drawn
    two pixels thick is counted once. Rows of attention weights sum to 1, so the maps
    themselves never hold such a run, and the colour bar is too narrow for one.
    """
    dark = picture[..., :3].mean(axis=-1) < 0.5
    lines = []
    for y, row in enumerate(dark):
        edges = np.flatnonzero(np.diff(np.concatenate(([0], row.astype(np.int8), [0]))))
        for start, end in zip(edges[::2], edges[1::2], strict=True):
            if end - start >= 100:
                lines.append((y, start, end))
    distinct = [
        (y, start, end)
        for y, start, end in lines
        if not any(0 < y - y2 <= 2 and abs(start - s2) <= 2 and abs(end - e2) <= 2 for y2, s2, e2 in lines)
    ]
    return len(distinct) // 2


def expect_a_real_picture(picture, what):
    """Not blank: many colours, and a good share of the pixels not white."""
    rgb = (picture[..., :3].reshape(-1, 3) * 255).astype(np.int64)
    inked = float((rgb.mean(axis=1) < 0.97 * 255).mean())
    colours = len(np.unique(rgb @ np.array([1 << 16, 1 << 8, 1])))
    assert inked > 0.05 and colours > 50, (
        f"{what} looks blank: {inked:.1%} of its pixels are not white, {colours} distinct colours"
    )


# ---- the command and its PNGs ----------------------------------------------------------------


@pytest.mark.pretrained
def test_the_command_writes_six_pictures_and_a_page_and_says_where(pictures):
    folder, printed = pictures
    written = sorted(path.name for path in folder.iterdir())
    assert written == sorted([*GRIDS, *LARGE, "attention.html"]), f"the command wrote {written}"
    assert f"Wrote to {folder}/" in printed and all(name in printed for name in written), (
        f"the command should say where it wrote each file; it printed:\n{printed}"
    )
    assert "agrees with BertModel everywhere" in printed, (
        f"the reference should agree with BertModel:\n{printed}"
    )


@pytest.mark.pretrained
@pytest.mark.parametrize("name", GRIDS)
def test_every_head_picture_has_one_panel_per_head(pictures, name):
    picture = imread(pictures[0] / name)
    expect_a_real_picture(picture, name)
    assert count_panels(picture) == HEADS, f"{name}: {count_panels(picture)} heatmap panels, expected {HEADS}"


@pytest.mark.pretrained
@pytest.mark.parametrize("name", LARGE)
def test_the_chosen_head_picture_has_one_large_panel(pictures, name):
    picture = imread(pictures[0] / name)
    expect_a_real_picture(picture, name)
    assert count_panels(picture) == 1, f"{name}: {count_panels(picture)} heatmap panels, expected 1"
    height, width = picture.shape[:2]
    assert min(height, width) >= 500, f"{name} is {width}x{height} px: too small to read a {TOKENS}-token map"


@pytest.mark.pretrained
def test_an_unfinished_encoder_stops_with_one_clear_message_and_exit_code_2(pretrained, tmp_path):
    code, printed, errors = run(SENTENCE, "--submission", EXERCISES, "--out", tmp_path / "out")
    assert code == EXIT_CANNOT_RUN, f"exit code {code} on the pristine stubs, expected 2"
    assert "is not finished yet: exercises/" in errors and "--solutions" in errors, errors
    assert "Traceback" not in errors + printed, f"a traceback instead of one message:\n{errors}"
    assert not (tmp_path / "out").exists(), "nothing should be written when nothing can be shown"


def test_missing_weights_stop_with_the_install_hint_and_exit_code_2(monkeypatch, tmp_path):
    monkeypatch.setattr(attention_view, "pretrained_source", lambda: None)
    code, _, errors = run(SENTENCE, "--solutions", "--out", tmp_path)
    assert code == EXIT_CANNOT_RUN and INSTALL_HINT in errors, f"exit code {code}, printed: {errors!r}"


@pytest.mark.pretrained
def test_encoder_attention_gives_what_bertviz_head_view_takes(pretrained):
    attentions, tokens = encoder_attention(SENTENCE, PAIR, folder=SOLUTIONS)
    assert len(tokens) == TOKENS and tokens[0] == "[CLS]", f"tokens: {tokens}"
    shapes = [tuple(weights.shape) for weights in attentions]
    assert shapes == [(1, HEADS, TOKENS, TOKENS)] * LAYERS, f"attention shapes {shapes}"


# ---- which layer and head are drawn ------------------------------------------------------------


def toy_attention(difference_at=None, value=0.5):
    """Two layers of three heads of a 4-token map, with one difference planted at (layer, head)."""
    weights = np.full((2, 3, 4, 4), 0.25)
    other = weights.copy()
    if difference_at is not None:
        other[difference_at + (0, 0)] += value
    return Attention(tokens=list("abcd"), encoder=other, bertmodel=weights)


def chosen(attention, *argv):
    """(layer, head) that the command draws for these command-line options."""
    options = cli.command_parser("view", "kata view").parse_args(["text", *map(str, argv)])
    return choose(options, attention)[:2]


def test_without_layer_and_head_the_first_head_that_disagrees_is_drawn():
    assert chosen(toy_attention((1, 2))) == (1, 2)
    assert chosen(toy_attention((1, 2), value=np.nan)) == (1, 2), "a NaN is a disagreement"
    assert chosen(toy_attention((1, 2), value=WHOLE_MODEL / 2)) == (0, 0), "within tolerance is agreement"
    assert chosen(toy_attention()) == (0, 0)
    assert chosen(toy_attention((1, 2)), "--layer", 0, "--head", 1) == (0, 1), "asked for is drawn"


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [("--layer", 2, "the model has 2 layers, 0 to 1"), ("--head", 3, "each layer has 3 heads, 0 to 2")],
)
def test_a_layer_or_head_that_does_not_exist_is_refused_with_the_range(option, value, message):
    with pytest.raises(CannotShow, match=message):
        chosen(toy_attention(), option, value)


# ---- the interactive page in a real browser ----------------------------------------------------

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--proxy-server=127.0.0.1:9",  # nothing listens there: any request the page makes fails
]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Debian's chromium, headless, with a fresh profile and the network cut off, driven by playwright."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed (apt-get install chromium); .ci/run installs it")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed: pip install -e '.[dev]'"
    )
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path_factory.mktemp("chromium-profile"),
            executable_path=chromium,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1200, "height": 900},
        )
        yield context
        context.close()


@pytest.fixture(scope="module")
def page(browser, pictures):
    """The page, loaded, with every script error and every request it made recorded."""
    url = (pictures[0] / "attention.html").as_uri()
    tab = browser.new_page()
    tab.problems, tab.requests = [], []
    tab.on("pageerror", lambda error: tab.problems.append(f"script error: {error}"))
    tab.on("console", lambda message: message.type == "error" and tab.problems.append(message.text))
    tab.on("request", lambda request: tab.requests.append(request.url))
    # Only the page itself may load; anything else is refused (and recorded above).
    tab.route("**/*", lambda route: route.continue_() if route.request.url == url else route.abort())
    tab.goto(url)
    return tab


def drawing(tab):
    """What the page shows now: the caption, every line's opacity and every heatmap cell's colour."""
    return tab.evaluate(
        """() => ({
            caption: document.getElementById("caption").textContent,
            lines: [...document.querySelectorAll("#lines line")].map(l => l.getAttribute("stroke-opacity")),
            cells: [...document.querySelectorAll("#heatmap rect")].map(r => r.getAttribute("fill")),
        })"""
    )


@pytest.mark.pretrained
@pytest.mark.browser
def test_the_page_renders_offline_without_script_errors(page):
    assert page.problems == [], f"the page reported errors: {page.problems}"
    assert page.requests == [page.url], f"the page asked for more than itself: {page.requests}"
    shown = drawing(page)
    assert shown["caption"].startswith(f"Layer {LAYER}, head {HEAD}: the reference encoder"), shown["caption"]
    assert len(shown["lines"]) == len(shown["cells"]) == TOKENS * TOKENS, (
        f"{len(shown['lines'])} lines and {len(shown['cells'])} heatmap cells, expected {TOKENS * TOKENS} of each"
    )
    expect_a_real_picture(imread(io.BytesIO(page.screenshot()), format="png"), "a screenshot of the page")


@pytest.mark.pretrained
@pytest.mark.browser
def test_the_layer_head_and_source_selectors_change_the_picture(page):
    before = drawing(page)
    page.select_option("#layer", str(LAYER + 1))
    other_layer = drawing(page)
    page.select_option("#head", str(HEAD + 1))
    other_head = drawing(page)
    page.select_option("#source", "2")
    difference = drawing(page)
    assert other_layer["caption"].startswith(f"Layer {LAYER + 1}, head {HEAD}:"), other_layer["caption"]
    assert other_head["caption"].startswith(f"Layer {LAYER + 1}, head {HEAD + 1}:"), other_head["caption"]
    assert "largest |difference|" in difference["caption"], difference["caption"]
    for what, one, other in (("layer", before, other_layer), ("head", other_layer, other_head)):
        assert one["lines"] != other["lines"] and one["cells"] != other["cells"], (
            f"choosing another {what} left the lines or the heatmap as they were"
        )
    assert page.problems == [], f"the page reported errors: {page.problems}"
