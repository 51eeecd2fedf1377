"""The learner's tests: one file per exercise, in course order.

    pytest                        test your exercises/
    pytest tests/test_attention.py  one exercise
    pytest --track numpy          the NumPy track (exercises/numpy/)

Everything these tests share (the implementation under test, the reference, the reports
you read when a test fails) is the kata's pytest plugin, kata/feedback/pytest_plugin.py,
which pyproject.toml loads.
"""
