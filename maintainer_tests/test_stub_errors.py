"""The stub generator (kata/maintainer/stubs.py) on solution files it must refuse or pass through.

maintainer_tests/test_stubs.py checks the real exercises/; these feed make_stub small
synthetic solutions: each malformed region is refused with its file, line and what is wrong.
"""

import pytest

from kata.maintainer.stubs import BEGIN, END, make_stub

pytestmark = pytest.mark.maintainer  # checks the kata's own tool, not the learner's code


def solution(*lines):
    return "".join(line + "\n" for line in lines)


def test_a_region_becomes_one_raise_naming_the_exercise_and_function():
    source = solution(
        "class Head:",
        "    def forward(self, x):",
        '        """Docstring stays."""',
        f"        {BEGIN}",
        "        y = x * 2",
        "        return y",
        f"        {END}",
    )
    stub = make_stub(source, "attention.py")
    assert stub.splitlines()[-3:] == [
        "    def forward(self, x):",
        '        """Docstring stays."""',
        '        raise NotImplementedError("exercise 1, attention.py: write Head.forward")',
    ]
    assert stub.startswith("# Generated from solutions/attention.py by ")
    assert "`pytest tests/test_attention.py` to check it." in stub


def test_the_numpy_track_stub_says_how_to_test_it():
    source = solution("def f():", f"    {BEGIN}", "    return 1", f"    {END}")
    stub = make_stub(source, "numpy/multi_head.py", track="numpy")
    assert "`pytest tests/test_multi_head.py --track numpy`" in stub
    assert 'raise NotImplementedError("exercise 2, multi_head.py: write f")' in stub


def test_a_file_outside_the_course_and_a_region_outside_any_function():
    source = solution("import math", BEGIN, "X = 1", END)
    stub = make_stub(source, "helpers.py")
    assert 'raise NotImplementedError("kata, helpers.py: write this part")' in stub.splitlines()


def test_a_file_without_regions_is_left_as_it_is():
    source = solution("def f():", "    return 1")
    assert make_stub(source, "attention.py") == source


def test_the_raise_takes_the_end_markers_indentation():
    # Nothing checks that it matches the region's: a misplaced END gives a misplaced raise.
    source = solution("def f():", f"    {BEGIN}", "    return 1", END)
    assert make_stub(source, "attention.py").splitlines()[-1] == (
        'raise NotImplementedError("exercise 1, attention.py: write f")'
    )


def refusal(source, filename="attention.py"):
    with pytest.raises(ValueError) as raised:
        make_stub(source, filename)
    return str(raised.value)


def test_a_region_inside_another_is_refused():
    source = solution(
        "def f():", f"    {BEGIN}", "    x = 1", f"    {BEGIN}", "    y = 2", f"    {END}", f"    {END}"
    )
    assert refusal(source) == f"attention.py:4: {BEGIN} inside another region"


def test_an_end_without_a_begin_is_refused():
    source = solution("def f():", "    return 1", f"    {END}")
    assert refusal(source, "numpy/attention.py") == f"numpy/attention.py:3: {END} without {BEGIN}"


def test_a_region_never_closed_is_refused():
    source = solution("def f():", f"    {BEGIN}", "    return 1", "", "def g():", "    return 2")
    assert refusal(source) == f"attention.py:2: {BEGIN} is never closed"


def test_a_marker_is_a_whole_line_only():
    source = solution("def f():", f"    return 1  {BEGIN}", f"    x = '{END}'")
    assert make_stub(source, "attention.py") == source
