"""Choosing OpenBLAS's kernels: AVX-512 ones on AMD CPUs that have it, never against an
explicit choice, never after NumPy has loaded OpenBLAS."""
from nabla._blas import choose_coretype

AMD = "vendor_id\t: AuthenticAMD\nflags\t\t: fpu sse avx2 avx512f avx512dq avx512bw avx512vl\n"
AMD_AVX2 = "vendor_id\t: AuthenticAMD\nflags\t\t: fpu sse avx2 fma\n"
INTEL = "vendor_id\t: GenuineIntel\nflags\t\t: fpu avx2 avx512f avx512dq avx512bw avx512vl\n"


def test_avx512_amd_gets_the_avx512_kernels():
    assert choose_coretype(AMD, {}, numpy_loaded=False) == "SkylakeX"


def test_left_alone_otherwise():
    assert choose_coretype(AMD_AVX2, {}, numpy_loaded=False) is None   # no AVX-512
    assert choose_coretype(INTEL, {}, numpy_loaded=False) is None      # OpenBLAS knows Intel
    assert choose_coretype(AMD, {}, numpy_loaded=True) is None         # too late to choose
    assert choose_coretype(AMD, {"OPENBLAS_CORETYPE": "Haswell"}, False) is None  # explicit
    assert choose_coretype(AMD, {"NABLA_BLAS_TUNING": "0"}, False) is None        # opted out
    assert choose_coretype("", {}, numpy_loaded=False) is None
