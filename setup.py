"""Build hook for the optional native extension; all project metadata lives in pyproject.toml.

``fedloom.crypto._ifma`` (AVX-512 IFMA fixed-base products and column-wise
multi-exponentiation) is built when a C compiler is available; ``optional=True`` makes
setuptools skip it, with a warning, when the build fails, and fedloom then falls back to gmpy2
(see fedloom.crypto.native).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "fedloom.crypto._ifma",
            ["src/fedloom/crypto/_ifma.c"],
            depends=[
                "src/fedloom/crypto/_ifma_arith.h",
                "src/fedloom/crypto/_ifma_columns.h",
                "src/fedloom/crypto/_ifma_fixed_base.h",
            ],
            extra_compile_args=["-O3", "-pthread"],
            extra_link_args=["-pthread"],
            optional=True,
        )
    ]
)
