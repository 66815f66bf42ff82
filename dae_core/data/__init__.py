"""The datasets and the noise: where MNIST and Fashion-MNIST load from (a folder, Keras's cache or
download, the bundled test sets) and the noise kinds, in NumPy and in TensorFlow.

Modules: ``datasets`` (sources, the 48,000 / 12,000 split, the bundled test sets in ``bundled/``),
``noise`` (gaussian, salt and pepper, speckle, masking...). Imports only ``settings``, ``errors``.
"""
