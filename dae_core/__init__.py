"""DAE Lab core: data, noise, models, runs, training and evaluation.

Never imports streamlit; TensorFlow is imported only by the modules that need it
(models, train, evaluate) so data, noise, imaging and runs stay fast to import.
"""

__version__ = "0.1.0"
