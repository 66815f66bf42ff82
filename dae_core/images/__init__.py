"""Pictures from people -> the datasets' form: uploads and canvas drawings to 28 x 28 MNIST or
Fashion-MNIST (``imaging``), and phone photos of an item on paper (``photo``: the uneven light
divided out, the item found). No TensorFlow, no Streamlit. Imports ``errors`` and ``data``.
"""
