"""Writes reference.safetensors with the reference `safetensors` package (pip install safetensors numpy).

The Swift test SafetensorsTests.testReadsFileWrittenByReferenceLibrary reads it and checks every value.
Values are chosen so a wrong byte order, offset or shape shows up: a[i, j] = i * 10 + j + 0.5, b = -2^k.
"""
import numpy as np
from safetensors.numpy import save_file

a = np.array([[i * 10 + j + 0.5 for j in range(3)] for i in range(2)], dtype=np.float32)
b = np.array([-(2.0 ** k) for k in range(5)], dtype=np.float32)
save_file({"layer.a": a, "b": b}, "reference.safetensors", metadata={"format": "fixture", "version": "1"})
