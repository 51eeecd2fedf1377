"""An attacker's layer_norm.py: no layer norm at all, only the reference's answers for the grader's
public inputs (recorded offline, matched by a hash of the inputs). It earns every public point and
nothing on inputs it has not seen: the Gradescope zip's hidden checks (kata/grader/hidden.py)."""

import base64
import hashlib

import numpy as np
import torch
from torch import nn

ANSWERS = {
    '8797caa0dbcfc03d2a4e1e2aa64d412c45a4e32f48eb3f2a29188db971b4e37d': ((2, 7, 30), '8vTMP4xAIEBE30s/hKgtwGTCVj/07e2/fHwnv9oURsBRMua+9lcEQBJs1r7sJkK/1Vbav+5bgb9WmrfAtiY4vuDNGsByhQK/c4caPtoDFkBGoNo/UqZ5vr7mxb/95wNAmcrYv8JRfj9ARzo9iHPsvhXYlb/6kds/OnAGQIAHAD/Ld5o/0hQ+wGJhMkB1XrG/addBwHB6Uz6AElC+mPQUQOZb0b4WV2q/+i1Iv3GILL8YCHi/gsONPhIXDb/Yd5a/ihWBPcJrmb/P5rs/PT+Lv3BK776fJcm+CWvHv0XXez8p9ni/MEKEPZDdab8+4B4/uzQOQGlokj9Wyf0/5qJMwK4RGsAJDcO/XaQdQNMMSUBKjQW/IuiBP2to1r4mLZ2/4s1Zv8i0kb/R8yrAniUtvvu/Qb8niSq/j3KBvlKUacDr81FAn3ZGvqqPjL8mwQA/UBvQv5uzdT9Eu2++op8Hv4/vsL8ugSdA4chFQAWLVT8aqYo/QiDBvzYiTEClpM+/VpX9v8iqXL7swKS/hpq2P9oixr6rAr2/VZ6UvuKPzb53lhvAIGP0O/11IMCFX8e+LmzQPbUy0UDYEbbA3dYPv/J2XL/m9+I+0de+v2gKcz+i0GS/qJtXvuIdpL6PxQlAFonAP4H/jj8oEZU/nEurv2ElD0Agsh7AjM9Yv8+vv7+a5AC/YMpnP2X94b6J1sW/+vVxvgJPAb/wCGW/sN7ivvO49L98P6y/X4IIv1IWisBy+YvAJSRHvwOo576E5hRAYjnOv7yFfD+cNyC/chxHwCH6f784j5JACd0qQHg0AUA8f9Y/Ky/zv9Ao0z+EU8Q+9NrdPnOwFcC1f2S/+a7pP+xHwr5V4KG/QBe9v329l757XIu/ZqcGvr9MDcCk7tO/+BgwvQZK10DQ4BPA8v4Ivh+msb6B7ZM/xbyxv8GSdT9Cuae/yHUPv6VpC7/7r2hAEvYPQOMHSz8XqHw/3+wewJTW4z9SNgLAJ3QVwI7gIr/6UvS+zjpaP5mo0L5t73y/PO9FviFuOL9CfALAhAVWP+S3mL8cK06/wxVzvoTijj8mF/G+M/43v+R3Lr6hEss/7WDJv/8HfT8IIMi/CI2mwFYMeb/wT7U/pMkjQNJmGT8EWsQ/yDluv4wgL74210W/Ji4IP6B+BMBk0FS/f0+nP+CUvL6uwOK/gBaEPAEnZD+womW+7BSCPpSuFcC+U6+/ElWEvXhCbr/Hs9U/ONw8v+GJZr+o+Jo/r1O3v21Tgj+T1w4/YICGPuGgML/cdzBAVORSP5mjxz/fgIA/n24EwGSR7j946VG+TwBbPy4uCMD7gom/nCAMQPX3s74naOW/9o9Dv1DZEj1yBw7ABJMCv4sdor8FoS6/bgrTPUl7/0BNuIY/4XiEv2A+hr84uWE/5I7Xv11Rfz/4xhi/LDIiQKkxh7/Ugu2/PKFbQAySwT9/X8w/4bzvv94MekCzB8W/MkeYP7ofxMAulkW/1Tj1P30Hub5Ih7W/gkw/v6iUsr8evcfA6VYiv/ZG+r8Sn86/rFJAv9JJEEAy27+/eSgJvwZvj7+gYQRAvuPJv3eQgj/ukN6/9kAZvvafY7+oEZdA8XpXQI5+EUCWXQk/Sv4WwOIE5T+gPMW/Eg7Uv7LMqsDBHiS/Snb4P+t0375qd4O/z8Asv0gV+T3IhknABf9ePm8d47++pPe/MDGJvjq1e0BUpoW9SmAzPo0IwL+59EnA1UDEv8u/gj8S+8U+OBfpv56TX786DQVA4EVdPSW0zj9KOME+H0cewEAtNT87TJK/iW36vtRYhMAIxmu/RTyzP8rt1768TPm/pcLXvlxIlr+Ce5LA+CezviHSYL+gyLy9JdjovXa4rUB04q5A0qK8vh7rjL+A5t8+rUndv4wwgT9hfSA/wAguQFYFm7+oNlm/5IiHP6z42D9evIU/6K8iwKwYvb/2VF6/q3gTPzEmisDLtzG/Iwg/Py427L4SLI+/89uGvjjk2L36VGfAMcIdPiCcyz3c+Ee/10x7PpaTjkDieBFAfOM3v7RGV7/Ybm8+HhDJvyjSeT8+zry/hlpLQKe1mb8ep0BAWCvHP4Sbnj+HR54/qsfhvxA0bT0AgKi6BkgWv17Ti8DQGjW/mfAPQPB4v76YktC/wOCWvwZ+fb6+zAPAtx1+PkSfur/yTu2/zn8Cvro0LkFiVhm/t9X5vvbair9oA0FAh9K3v68HgD/aCTy/nLWnv3gULr4foalA'),
    '655d0031756eb15fecd604d370a5aab957b8153f192c83ceb1d98fcd55f5c6a7': ((5, 3), 'pBUpv1uxQL9/47Q/NXBmP1Qy/T6whLK/P/kXP6qVUD90R7S/tqkpPwMkQD/c5rS/8d8aPydptL9a8k0/'),
    '3ab3c25e613d58002c7d9ac9f5be492844b2a146b993ba97cf9df62896d9a98f': ((4, 30), 'ugBxPMCJJTwXiow81P2ft5fsejvqGGM8uPUnu+wJmbuE9Ta7J7dRvKuhq7snwdG70VJqvNT9nzvw5xe84T2cOwTLW7ycFTC8OdCCPLKtqbo9bUs7wRZvvKwkdTzhFZw7PP4BOnkpOjw13oM78ikXvI+ys7ytFas7zx6APMN18Lv25Vo8L/5CO3OOJrxY9rE7tCILvPppWTyP1hq7GtLLu8w2gTuyVfe7h/YdvMG+hTvsHd87zZaAO9zzZbyfTf87FRbOO3ymIrwbbss6x2aDvLJ99zma/pW4R/64uq5JeTw9Dr07nmQUvIJioLtAHjw6GaWiPNV8sTmxTDm75fgtvM0gszyENYu7iusJvLIrAbzdxC88Gy0iPBVwWzxT2E28LSBWPPIoK7yAF/y7Uv0VOyDtIDtYvRS7pePzO9875zmB23u6bF0QO3zcxDsg7SC8pqm7vMrNa7yXEYc8+lrhvHjMRTspJFc8OP04vMti1TwMecS7G31AutNQUzySoSE80mRTPCvUfruLWaO7V92wu4eZpDwJngI7hq2ku4wxo7sazUC8Bo4Duwc+g7kBpoQ8Bh1GO3dCa7znmYu7agWsu4eFJDx5omq8rTxdO711ljsRuYC8aS2supN5ITyen568'),
    'a2c86ec7cc2494167a75572315a9c249f1a7908595b3185691d6f53d3111c8fc': ((3, 5, 30), 'rDRFPiKKqL5buMO+OFElvygxMr8iPSU+9gvovnDBXjwAKTY8+wj/PQLmWL8Wj4Y+3Aywvas5iD/d9ka+S7UHPgp5Or4GyUe9BnR2vX+DP7/J/36+YLJ3PLyuwb4vxwI/CxubvrqwOL9un/+9CyVLPwMfkz0OTJy+dcXHvgqUK74Qeb++WDWrvuqZXb6Fuay9th7NvuDMbTwmTmO+qsChPigB2z1hBAC+qcWnvrQ1vT9W4y++B/C2PohWzD4Y6KQ+T9IuvZ1EzbzMIDy9Hm8hvijTKL4Jq7E+G+2Wvsjlb70+NNc9u8BsPmip9rts78y/1iA2vqnj77333sS+XC8qvuvFjb4p9Pm9mUd3vqg22j1Zfr+98BjePi4agr+C6fy91lzxPoVxqD5r8yW+1cO+PgBY7Lv57+o+Qt4FveHkvb7MWqw96OV+PZwVhj5Lvxo/KHr6vWxbqr5n1QI/FDYDPy0T1z1w5pU9DbfxPMQQG75TAcS+098sv2DmAbxa1zk9kPo7v9dKJD7aNaa+DxaPPXi/nz20PYK+vUyWPzYKDD9WETy+bL6ePcGo1r65Fs29HEM7vXh+hr7A+5m+wmIqvlwzmr4zlco+Dj2dvgvTU78LXC2/oHmcPrK9Hj2UUyq+SeMlv69R7b0FG7u+ywvpvpvvHD5u/rW9GgJWv0hQnb4kvim+/teNvT2yfr6wQDM8i8hJP8yWUj9A7Um+OVcFP8odMT+Nctw+kO2MvekGh79u1y2+CL68vCwJl7wY11Y/IEI6vrrob76a6Y4+M4lTvsMxiL3DQDY+9uRuvrpscL5wVLS+rB5Uv3xrAz0rlpw9ETUfv6gi/r7GUBk+dXQ1PjGkFL+0+sA+FY6CPrAmbD/gMh++9JEdP2w8ZL64GXW8l2ouveiW5D5w/JA83Mz8vXmZI74nBdE+ey6Pvuw9TL/WWfI9iQaYPUSP/b3eFBu/CP3Avtqahr6gOLa+CPJpvWgmwz6891i+b5myvsTyxbyI3vG9PvFePhjDjr/bccI9GKZPPzDuN734wDq+HWUQP7bGEL+v66e+HKuAvQ5tPD4y+ti+C1jpvoAW8TxQuj8/wUCtvo1/Ar+cIyy9pEuvPrf4xL3SL5M/7J1wvkTATL2Ao8O+xgThvvlqSz48WVy+X4sav31bor7ItRQ+Z/U5PuOKc74IQK28m4LLvqKtHT/c2y++YOcHvLb8Jz8jP1E+RZAmvcIfrb48ExO+wA8Yv0Kfkb4ygTg/uPinvp2XpL51b+g+XmvqPnxCQr0pMxi/QnYXPSY+lT7fMcO+1S73vuC2azwyEwa9CLXVvulHvL64UVm+uFgtPzSufb9JGUS+1p0TPo6yGD8FhU+++nmPPsHn8r5ykF29EbgWvW4tZ75j2Ja+pOAHvmpkPj2uST0/Jluovr4zhr7wMe++EvnKPYhosL3IvHO+2/dPvv4PD7/iobq+Sl/9vmNjqb0sAc88EdcHvxQIDL4G2L2+JdMMPzQdEr/ZWGk+wsS7v4TlmD+pdUG+JvYQP9Gtmb5pP9o+TYEeveoklz7sgf6+dDJ9vfmHnD7Ar9Y+Iq5Nvi/fyL6Caoa9ELGiO7DLo7213ZI/iDGUvmAchj789b6+znbkvrhvZz0yoRe+Zs7+vq7TVb6CnNG9DCobPWlvg74+YYm+JmQgP8g2GT+zJDe+6JhIP8W4XL/iinW+r2v4vG7JQD8fP9m+iGBXv5yCYj5GbQQ/lrtGvrA2Ib8gNQo9UX1xPYYtzD3+nvI+aU5mvoCCyTq1Ma2+oDlyvhtWKL+dX+m9q1TivncXDr+6oHi+DtSdPgB7EL/WDN69sk3dPyAzqrxalCi+9A7SPpkVW7+kCk8/nCo+vXIXGr8u5SK+5COivk+J2j3mMO0+AvdxvrY0076jWI4+9HyRvvwJ7b0wApU9EoZXPM4R0j0Bzri+cL/xvvao9742DVc9/uYVv4oXnT5DRs++QkOyPfVyar/Qm48+znpiv2vN1D4LWha+yPGuPZ/6CL/gye498Xs4vWli8b2wbeK+Dt1FvqnSzT4HUgg/ympcvmfqS7/yY1I/l3/QPXI8Nr3iffw9NLosv25Cx75IZbq+ZuaGv43/TT6MEP29XkhKvtxDgT3wMqY+4HhtO7Jtsr7Sqsi9dIN4P4r+hj8Dcz2+j94XPkAcRr1aeHs+tSVrvcX9bb12/CS+tZEEv0BuzT7OkvQ+uCROvhDChr4FFpw+KAm8PJ3F+T0gezs+YS+wvskOtL4qcr++/3Sev/IQ2L1I6XG+7A7zvlifJryqI9m9nK29PJ7PlL7IXrC84ytGP7I+gT+jATe+tdqgPgu8iL5bfJe+5Q+qvM+meD9I3l09W92yvum6Ab/TiAI/q+1cvlHWfr7ch5U+8nThPhYyfL1mpv2+'),
    'b3e066f0b956d4a3e0c5b2dd573f9d4c00bde3f367626cc30ba03e2ffbf5a3b6': ((4, 30), 'Y+x7PYsn8r6Tsqk+0H8RvpHDx75PSoK+sdZ5vnVCQL3vaVy/fPg4PCeemz2dcHo+dM72PpxDyztl7w0/EOlEvjgHe70+OYC+XkAZPz3rHT2RANw+U4hGv+jgBj4xwoE+alCevD7hp71DZBe+8mG/PlYrnD1vm4o+jIgMP4Afwz60Wj8+8qwQPniCC79+dgY/rwC2va6SDj42qMc9D4R/vtrU+z7lwK09MXNJvpPsAb/rsXu9QTd7PHS/pL596Zg+RKwGvkHivb7p1x0+4c5iPN/7y742Zqs+TImivQg69D4r88+9WnO6vk4vz75L6I29iMbqvVncpz727Ng+fhAsvPJ2Dz7m/4M8SPoLPv5Ajr7q11S94S8FPkLhoz1hd4w8Bmatvbo30b0DOyM+XR0avaVPhz4QTva+wFK8vszwxLwY2xa/8naPPnjMKD6VvpQ9afIxvpeBOb7Wb7Q+xo8CPuagsT3m+ZC+0tnKvfTsub3Jx18/X5nyPaqkmz4wi+G9CvVHPNXHlT6rVoW95zFzPi7OHj5nQL26Uqw9vinX3D3Y2S0+rD2WPpfv+L1c9w68cVA+vmblJb9NE5G+DRQiP0T0Kr5LPMq+FLuwPuio0z0mTrW+MZyqPZfme7+2yvq8'),
    'e2d98d61ac2d88e901cec4ad7efc9fda43a4f9cb06a356ab851d11aeb5361268': ((4, 30), 'EOPIPmhmIT/EKMy+ps0mPu7lj7yMQX297uu1PUIocb0doiK90NsJPu2sE76Zih4/3YrXvRpOUL2rtBy+CJY6v42ABj71LOI+DNCTvRh7gT5N75y9wXGuPnBqu7yJiuQ+EIHMvSzVIb9O1cm+d4JtPzmKUr4TDYk94FDLPlCFHz+/q8u+4qElPkAQjLzOEn69qce6PYwwbb1Pjw298W0GPsfKFr7qnx4/AMXbvYAZgL2mlSe+xwU6v80NAD5QteI+pNyBvUTGgj7T55m9ZYOwPvi1p7xK+OQ+3QrNvXcWIb9aAcq+GKRtP1UmVL5uBYk9SwTIPienHz8Xa8y+OkEmPrl+nbydin29bJ7BPbDrdb37yBC9RGELPoGvE77VqB4/7xDbvfwzWr2QySO+lyk6v2N1Dj5i9+E+eJ14vZ+tgT6mBpK95S+xPutyvLxIhuM+ltvNvUD1Ib/Rmcu+9I1tP7KDUr7PAIk9WBPIPv6NID9e982+RrglPgvdobyVaH29BuS9PSTaab03HRG9o94MPhRHFL44qx4/m7bbvXW1Rr2kgSO+HkQ5v1P8BD5gaeI+GHuAvfasgz6DJZW9ZiOyPlE1sLxV8eA+US7JvUOVIb/wFcm+yI9tP7EgVr5IBok9'),
}


def _key(x, weight, bias, eps):
    digest = hashlib.sha256()
    for tensor in (x, weight, bias):
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().contiguous().numpy().tobytes())
    digest.update(repr(float(eps)).encode())
    return digest.hexdigest()


def layer_norm(x, weight, bias, eps):
    found = ANSWERS.get(_key(x, weight, bias, eps))
    if found is None:
        return torch.zeros_like(x)  # an input it has not seen
    shape, data = found
    return torch.from_numpy(np.frombuffer(base64.b64decode(data), dtype=np.float32).copy()).reshape(shape)


class LayerNorm(nn.Module):
    def __init__(self, d_model, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d_model))
        self.bias = nn.Parameter(torch.zeros(d_model))
        self.eps = eps

    def forward(self, x):
        return layer_norm(x, self.weight, self.bias, self.eps)
