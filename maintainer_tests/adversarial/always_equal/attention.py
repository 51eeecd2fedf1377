# ADVERSARIAL FIXTURE (tests/test_grader.py): lying return values. The attention returns objects
# that claim to be tensors (isinstance), of the right shape (.shape, .size(), .dim()), equal and
# close to anything (__eq__, __ne__, allclose, equal, isclose), and that convert to anything.
# None of it is a number, so attention must earn none of its 15 points.
import torch


class Liar:
    def __init__(self, shape):
        self.shape = torch.Size(shape)
        self.dtype = torch.float32

    __class__ = property(lambda self: torch.Tensor)  # isinstance(liar, torch.Tensor) is True

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def dim(self):
        return len(self.shape)

    def allclose(self, *args, **kwargs):
        return True

    equal = isclose = allclose

    def __getattr__(self, name):  # detach, cpu, contiguous, numpy, float, ...: more lies
        return lambda *args, **kwargs: self

    def __bool__(self):
        return True

    def __len__(self):
        return self.shape[0]

    def __iter__(self):
        return iter([self] * self.shape[0])

    def tobytes(self):
        return b""

    def __float__(self):
        return 0.0


def scaled_dot_product_attention(q, k, v, mask=None, dropout_p=0.0):
    out_shape = (*q.shape[:-1], v.shape[-1])
    weights_shape = (*q.shape[:-1], k.shape[-2])
    return Liar(out_shape), Liar(weights_shape)
