"""DAE Lab core: data, noise, models, runs, training and evaluation.

Never imports streamlit; TensorFlow is imported only by the modules that need it
(models, train, evaluate) so data, noise, imaging and runs stay fast to import.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out

__version__ = "0.1.0"
