# ADVERSARIAL FIXTURE (tests/test_grader.py): the wrong attention that conftest.py beside it
# tries to pass off as correct. It returns (v, q): every shape and value is wrong.
def scaled_dot_product_attention(q, k, v, mask=None, dropout_p=0.0):
    return v, q
